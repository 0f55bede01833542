"""Real-world legal names, grouped by what makes them hard, as HR systems send them.

Test data for tests/unit/test_legal_names.py: every one must be accepted as given, family or middle name, kept
exactly, and turned into valid user names. Assembled from name forms seen in HR exports: suffixes and initials,
particles, punctuation, scripts with and without a Latin transliteration, mononyms with a placeholder family name.
"""

from __future__ import annotations

SUFFIXES_AND_TITLES = [
    "Smith Jr.",
    "Smith Jr",
    "Smith, Jr.",
    "Müller, II",
    "Ford III",
    "Davis IV",
    "King Sr.",
    "Johnson 3rd",
    "Harrington-Smythe, Esq.",
    "Peters (Senior)",
]
INITIALS = ["J.R.", "J. R.", "A.", "T.J.", "M.-L.", "Q", "E.J.B.", "O.J."]
PARTICLES_AND_PUNCTUATION = [
    "St. John",
    "de la Cruz",
    "van der Berg",
    "Van Der Berg",
    "von und zu Liechtenstein",
    "d'Artagnan",
    "D’Angelo",
    "O'Brien-Müller",
    "O’Neill",
    "McDonald",
    "MacLeod",
    "Fitz-Gerald",
    "al-Rashid",
    "bin Abdullah",
    "ben David",
    "dos Santos",
    "da Silva e Souza",
    "García (Pepe)",
    "Le Pen",
    "Ní Bhriain",
    "Ó Súilleabháin",
    "Mac an tSaoir",
    "ʻIolana",
    "Kaʻahumanu",
    "Nuñez",
    "Smith & Sons",
    "Smith / Jones",
    "Jean-Luc",
    "Mary Kate",
    "Anne–Marie",
    "Zoë2",
    "X Æ A-12",
    ".",
    "-",
    "FNU",
]
LATIN_DIACRITICS = [
    "Zoë",
    "Jürgen",
    "Groß",
    "Łukasz",
    "Żółć",
    "Søren",
    "Ødegård",
    "Ægir",
    "Þórunn",
    "Guðmundsdóttir",
    "İlkay",
    "Işık",
    "Çağlar",
    "Şükrü",
    "Dvořák",
    "Hồ",
    "Nguyễn",
    "Trần Thị Minh Khai",
    "Đặng",
    "Phạm",
    "Lê Văn Lương",
    "Ngô Bảo Châu",
    "Kırmızı",
    "Ōtsuka",
    "Māori",
]
GREEK = ["Παπαδόπουλος", "Γεώργιος", "Αικατερίνη", "Ελευθερία", "Μαρία-Ελένη"]
CYRILLIC = ["Иванов", "Ольга", "Щукина", "Фёдор", "Їжакевич", "Ґалаґан", "Петров-Водкин", "Јовановић", "Ђорђе"]
ARABIC_AND_PERSIAN = [
    "محمد",
    "عبد الله",
    "فاطمة الزهراء",
    "آل سعود",
    "شاه\u200cمحمدی",
    "بن علي",
]
HEBREW = ["כהן", "יוסף", "בן־גוריון"]
CJK = ["李", "小龙", "王小明", "欧阳", "山田", "太郎", "さくら", "サトウ", "김민준", "박", "남궁", "Nguyễn 阮"]
SOUTH_AND_SOUTHEAST_ASIAN = [
    "राजेश",
    "श्रीवास्तव",
    "ராமசாமி",
    "ശ്രീ",
    "অমিত",
    "สมชาย",
    "ใจดี",
    "Sukarno",
    "ꦱꦸꦏꦂꦤ",
]
OTHER_SCRIPTS = ["Արմեն", "გიორგი", "ኃይለ ሥላሴ", "Бат-Эрдэнэ", "ᏣᎳᎩ", "Ṭāhā", "ⵜⴰⵎⴰⵣⵉⵖⵜ"]
LONG_NAMES = [
    "Wolfeschlegelsteinhausenbergerdorff",
    "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Sr.",
    "Maria del Carmen de los Ángeles Fernández-Rodríguez",
    "N" * 64,
]

ALL_NAMES: list[str] = [
    *SUFFIXES_AND_TITLES,
    *INITIALS,
    *PARTICLES_AND_PUNCTUATION,
    *LATIN_DIACRITICS,
    *GREEK,
    *CYRILLIC,
    *ARABIC_AND_PERSIAN,
    *HEBREW,
    *CJK,
    *SOUTH_AND_SOUTHEAST_ASIAN,
    *OTHER_SCRIPTS,
    *LONG_NAMES,
]

# (given, family, the local part the default policy generates): the transformations people check first.
EXPECTED_USER_NAMES = [
    ("John", "St. John", "john.stjohn"),
    ("John", "Smith Jr.", "john.smith"),
    ("Anna", "Müller, II", "anna.muller"),
    ("José", "García (Pepe)", "jose.garcia"),
    ("J.R.", "Tolkien", "jr.tolkien"),
    ("Henry", "Ford III", "henry.ford"),
    ("Ana", "dos Santos", "ana.dossantos"),
    ("Tūhoe", "Kaʻahumanu", "tuhoe.kaahumanu"),
    ("Minh Khai", "Nguyễn", "minhkhai.nguyen"),
    ("Ольга", "Щукина", "olga.shchukina"),
    ("Bat", "Бат-Эрдэнэ", "bat.bat-erdene"),
]
