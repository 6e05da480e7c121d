"""The competition's facts that tools beyond the chapter's chain use too (the watch panel, the pages): the ten
classes and what each means, in English and Korean."""

KAGGLE_CLASSES = [f"c{i}" for i in range(10)]
CLASS_DESCRIPTIONS = {
    "c0": ("safe driving", "안전운전"),
    "c1": ("texting - right", "오른손으로 문자"),
    "c2": ("talking on the phone - right", "오른손으로 전화"),
    "c3": ("texting - left", "왼손으로 문자"),
    "c4": ("talking on the phone - left", "왼손으로 전화"),
    "c5": ("operating the radio", "라디오 조작"),
    "c6": ("drinking", "음료수 섭취"),
    "c7": ("reaching behind", "뒷좌석에 손 뻗기"),
    "c8": ("hair and makeup", "얼굴/머리 만지기"),
    "c9": ("talking to passenger", "조수석과 대화"),
}
