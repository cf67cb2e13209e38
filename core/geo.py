"""China's provinces → sales regions, the basis of region-first warehouse allocation."""

from __future__ import annotations

REGION_OF_PROVINCE: dict[str, str] = {
    # 华东
    "上海": "华东", "江苏": "华东", "浙江": "华东", "安徽": "华东", "福建": "华东", "江西": "华东", "山东": "华东",
    # 华南
    "广东": "华南", "广西": "华南", "海南": "华南",
    # 华北
    "北京": "华北", "天津": "华北", "河北": "华北", "山西": "华北", "内蒙古": "华北",
    # 华中
    "河南": "华中", "湖北": "华中", "湖南": "华中",
    # 西南
    "重庆": "西南", "四川": "西南", "贵州": "西南", "云南": "西南", "西藏": "西南",
    # 西北
    "陕西": "西北", "甘肃": "西北", "青海": "西北", "宁夏": "西北", "新疆": "西北",
    # 东北
    "辽宁": "东北", "吉林": "东北", "黑龙江": "东北",
}

PROVINCES = tuple(REGION_OF_PROVINCE)


def normalise_province(name: str | None) -> str | None:
    """'浙江省', '广西壮族自治区', '上海市' → the short name used in REGION_OF_PROVINCE."""
    if not name:
        return None
    name = name.strip()
    for short in REGION_OF_PROVINCE:
        if name.startswith(short):
            return short
    return name


def region_of(province: str | None) -> str | None:
    short = normalise_province(province)
    return REGION_OF_PROVINCE.get(short) if short else None
