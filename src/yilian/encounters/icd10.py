"""Chinese names of common ICD-10 codes (national clinical version), for display next to the code.

A display aid only: unknown codes show as the bare code. The full catalogue belongs to the
consortium's code tables, which users load themselves.
"""

from __future__ import annotations

NAMES = {
    "I10.x00": "高血压",
    "E11.900": "2型糖尿病",
    "E78.500": "高脂血症",
    "J06.900": "急性上呼吸道感染",
    "K29.700": "胃炎",
    "J20.900": "急性支气管炎",
    "M54.500": "腰痛",
    "K52.900": "非感染性胃肠炎",
    "L30.900": "皮炎",
    "Z00.000": "健康查体",
    "R51.x00": "头痛",
    "M17.900": "膝关节病",
    "H10.900": "结膜炎",
    "N39.000": "泌尿道感染",
    "I25.100": "动脉粥样硬化性心脏病",
    "J18.900": "肺炎",
    "K21.000": "胃食管反流病",
    "M81.000": "骨质疏松",
    "J44.100": "慢性阻塞性肺病急性加重",
    "I63.900": "脑梗死",
    "Z50.100": "康复治疗",
    "O80.000": "单胎顺产",
    "K80.100": "胆囊结石伴胆囊炎",
    "K35.800": "急性阑尾炎",
    "S72.000": "股骨颈骨折",
    "I50.900": "心力衰竭",
    "N18.500": "慢性肾脏病5期",
    "C34.900": "肺恶性肿瘤",
    "K56.700": "肠梗阻",
    "I21.900": "急性心肌梗死",
    "C16.900": "胃恶性肿瘤",
    "C22.000": "肝细胞癌",
    "S06.300": "局灶性脑损伤",
    "C50.900": "乳腺恶性肿瘤",
    "Q21.100": "房间隔缺损",
}


def label(code: str) -> str:
    name = NAMES.get(code)
    return f"{name}（{code}）" if name else code
