"""Streets and communities the source article names, placed in their real districts.

GB/T 2260 stops at the district. Street and community codes here follow the national
9- and 12-digit structure but are assigned by this project (see docs/decisions/0002).
Coordinates are WGS-84, approximate centres.
"""

# (district code, street name, street code suffix, [(community name, suffix, lat, lng)])
NAMED_STREETS = [
    ("330782", "稠城街道", "001", [("义驾山社区", "001", 29.3155, 120.0782)]),
    ("330304", "娄桥街道", "001", [("吹台社区", "001", 27.9597, 120.6195)]),
    ("330102", "四季青街道", "001", [("钱江苑社区", "001", 30.2563, 120.2098)]),
    ("330212", "潘火街道", "001", [("海璟园社区", "001", 29.8265, 121.5935)]),
    ("330522", "雉城街道", "001", [("鱼巷口社区", "001", 31.0098, 119.9110)]),
    ("331004", "路桥街道", "001", [("洋洪社区", "001", 28.5810, 121.3770)]),
    ("330110", "仓前街道", "001", [("仓前社区", "001", 30.2905, 119.9905)]),
    ("330902", "昌国街道", "001", [("城东社区", "001", 30.0190, 122.1120)]),
]

# Service centres the article names: (community or street code, name, type, lat, lng)
NAMED_STATIONS = [
    ("330782001001", "义驾山社区党群服务中心", "center", 29.3152, 120.0786),
    ("330304001001", "吹台社区党群服务中心", "center", 27.9593, 120.6199),
    ("330102001", "四季青街道新就业群体党群服务中心", "center", 30.2580, 120.2075),
    ("330102001001", "钱江苑社区党群服务中心", "center", 30.2560, 120.2101),
    ("330212001001", "海璟园社区党群服务中心", "center", 29.8262, 121.5939),
    ("330522001001", "鱼巷口社区先锋骑手驿站", "post", 31.0095, 119.9115),
    ("331004001001", "台州市党群服务中心童心守望点", "center", 28.5807, 121.3775),
    ("330110001", "余杭区新就业群体党群服务中心", "center", 30.2930, 119.9950),
    ("330902001001", "舟山驻点医生服务站", "center", 30.0187, 122.1125),
]
