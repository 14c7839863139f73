"""Static tables of the demo market: market mix, currencies, price levels, sectors, names.

All values are plausible round numbers for an Asia small-cap universe around 2026, chosen
for realism of the synthetic data only; they are not market data.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "COUNTRIES",
    "COUNTRY_SHARE",
    "CURRENCY",
    "USD_PER_UNIT",
    "EXCHANGE",
    "PRICE_MEDIAN_LOCAL",
    "PRICE_DECIMALS",
    "TURNOVER_ANNUAL",
    "SECTORS",
    "SECTOR_MIX",
    "INDUSTRIES",
    "NAME_SUFFIX",
    "NAME_PREFIX",
    "NAME_REGION",
    "HK_LOTS",
    "CN_RISK_SHARE",
    "FX_VOL",
    "NAME_TAIL",
]

COUNTRIES = ("JP", "CN", "HK", "TW", "KR", "IN", "SG", "AU", "MY", "TH")

#: share of the universe listed in each market (sums to 1)
COUNTRY_SHARE = np.array([0.45, 0.10, 0.08, 0.09, 0.09, 0.07, 0.03, 0.05, 0.02, 0.02])

CURRENCY = {
    "JP": "JPY", "CN": "CNY", "HK": "HKD", "TW": "TWD", "KR": "KRW",
    "IN": "INR", "SG": "SGD", "AU": "AUD", "MY": "MYR", "TH": "THB",
}  # fmt: skip

#: FX at the as-of date, USD per one unit of the currency
USD_PER_UNIT = {
    "USD": 1.0, "JPY": 0.0067, "CNY": 0.138, "HKD": 0.1282, "TWD": 0.0312, "KRW": 0.00072,
    "INR": 0.0118, "SGD": 0.775, "AUD": 0.66, "MYR": 0.226, "THB": 0.0295,
}  # fmt: skip

#: annualised volatility of the currency against USD (daily log changes)
FX_VOL = {
    "JPY": 0.10, "CNY": 0.04, "HKD": 0.005, "TWD": 0.05, "KRW": 0.08,
    "INR": 0.05, "SGD": 0.05, "AUD": 0.11, "MYR": 0.06, "THB": 0.07,
}  # fmt: skip

EXCHANGE = {
    "JP": "TSE",
    "HK": "HKEX",
    "TW": "TWSE",
    "KR": "KRX",
    "IN": "NSE",
    "SG": "SGX",
    "AU": "ASX",
    "MY": "Bursa Malaysia",
    "TH": "SET",
}  # fmt: skip  (CN: SSE or SZSE per security)

#: median share price in local currency and the decimals prices are quoted with
PRICE_MEDIAN_LOCAL = {
    "JP": 1200.0, "CN": 12.0, "HK": 2.5, "TW": 55.0, "KR": 9000.0,
    "IN": 350.0, "SG": 0.6, "AU": 1.5, "MY": 1.0, "TH": 5.0,
}  # fmt: skip
PRICE_DECIMALS = {
    "JP": 0, "CN": 2, "HK": 3, "TW": 2, "KR": 0, "IN": 2, "SG": 3, "AU": 3, "MY": 3, "TH": 2,
}  # fmt: skip

#: annual traded value over market cap (higher in the retail-driven CN / TW / KR markets)
TURNOVER_ANNUAL = {
    "JP": 0.6, "CN": 3.0, "HK": 0.3, "TW": 2.0, "KR": 2.5,
    "IN": 1.0, "SG": 0.2, "AU": 0.5, "MY": 0.3, "TH": 0.6,
}  # fmt: skip

#: share of listings whose country of risk is CN, by listing country (others: own country)
CN_RISK_SHARE = {"HK": 0.55, "SG": 0.10, "TW": 0.05, "MY": 0.03, "AU": 0.02}

#: Hong Kong board lots (per security)
HK_LOTS = np.array([100, 200, 400, 500, 1000, 2000])

SECTORS = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)

#: relative sector weights per listing country, in the order of SECTORS
SECTOR_MIX = {
    "JP": [5, 17, 7, 1, 7, 6, 25, 14, 10, 6, 2],
    "CN": [5, 12, 6, 3, 4, 12, 22, 18, 13, 3, 2],
    "HK": [6, 18, 8, 3, 10, 10, 12, 8, 8, 14, 3],
    "TW": [3, 8, 4, 1, 4, 6, 14, 45, 10, 4, 1],
    "KR": [6, 12, 6, 2, 5, 16, 16, 24, 10, 1, 2],
    "IN": [4, 14, 8, 3, 12, 10, 18, 8, 15, 5, 3],
    "SG": [5, 8, 8, 4, 10, 6, 22, 10, 5, 20, 2],
    "AU": [4, 10, 4, 8, 6, 10, 12, 8, 28, 8, 2],
    "MY": [4, 8, 12, 5, 8, 5, 18, 10, 12, 12, 6],
    "TH": [5, 10, 14, 6, 8, 8, 14, 5, 10, 14, 6],
}

#: GICS industries per sector
INDUSTRIES = {
    "Communication Services": [
        "Media", "Entertainment", "Interactive Media & Services",
        "Diversified Telecommunication Services",
    ],
    "Consumer Discretionary": [
        "Automobile Components", "Household Durables", "Textiles, Apparel & Luxury Goods",
        "Hotels, Restaurants & Leisure", "Specialty Retail",
    ],
    "Consumer Staples": [
        "Food Products", "Beverages", "Consumer Staples Distribution & Retail",
        "Personal Care Products",
    ],
    "Energy": ["Oil, Gas & Consumable Fuels", "Energy Equipment & Services"],
    "Financials": ["Banks", "Capital Markets", "Insurance", "Consumer Finance"],
    "Health Care": [
        "Pharmaceuticals", "Health Care Equipment & Supplies",
        "Health Care Providers & Services", "Biotechnology",
    ],
    "Industrials": [
        "Machinery", "Electrical Equipment", "Construction & Engineering", "Building Products",
        "Professional Services", "Ground Transportation", "Trading Companies & Distributors",
    ],
    "Information Technology": [
        "Semiconductors & Semiconductor Equipment",
        "Electronic Equipment, Instruments & Components", "Software", "IT Services",
        "Technology Hardware, Storage & Peripherals",
    ],
    "Materials": [
        "Chemicals", "Metals & Mining", "Construction Materials", "Paper & Forest Products",
    ],
    "Real Estate": ["Real Estate Management & Development", "Diversified REITs"],
    "Utilities": [
        "Electric Utilities", "Gas Utilities", "Water Utilities",
        "Independent Power and Renewable Electricity Producers",
    ],
}  # fmt: skip

#: second word(s) of synthetic company names, by sector
NAME_SUFFIX = {
    "Communication Services": [
        "Media", "Broadcasting", "Telecom", "Networks", "Entertainment", "Interactive",
    ],
    "Consumer Discretionary": [
        "Motors", "Apparel", "Home", "Leisure", "Retail", "Auto Parts", "Living",
    ],
    "Consumer Staples": ["Foods", "Beverages", "Brewery", "Mart", "Dairy", "Consumer"],
    "Energy": ["Energy", "Petroleum", "Resources", "Oil & Gas", "Coal", "Offshore"],
    "Financials": ["Financial", "Securities", "Bank", "Capital", "Leasing", "Insurance"],
    "Health Care": ["Pharma", "Medical", "Biotech", "Healthcare", "Life Sciences", "Diagnostics"],
    "Industrials": [
        "Precision", "Engineering", "Machinery", "Industries", "Electric", "Construction",
        "Logistics", "Heavy Industries",
    ],
    "Information Technology": [
        "Electronics", "Semiconductor", "Systems", "Software", "Technology", "Micro", "Digital",
    ],
    "Materials": ["Chemical", "Steel", "Materials", "Mining", "Paper", "Cement"],
    "Real Estate": ["Realty", "Land", "Properties", "Estate", "Development", "REIT"],
    "Utilities": ["Power", "Gas", "Water", "Utilities", "Renewables", "Energy Services"],
}  # fmt: skip

#: third word of names, used after the prefix x suffix combinations run out
NAME_TAIL = ("", " Holdings", " Group", " Corporation", " International")

#: region of the name prefix list, by listing country
NAME_REGION = {
    "JP": "JP", "CN": "GC", "HK": "GC", "TW": "GC", "KR": "KR",
    "IN": "IN", "SG": "SEA", "MY": "SEA", "TH": "SEA", "AU": "AU",
}  # fmt: skip

NAME_PREFIX = {
    "JP": [
        "Hoshino",
        "Takamura",
        "Kitagawa",
        "Sanwa",
        "Daito",
        "Yamabuki",
        "Asahina",
        "Shirakawa",
        "Kanto",
        "Tohoku",
        "Chuo",
        "Fujimori",
        "Miyako",
        "Nakayama",
        "Kurosawa",
        "Ishida",
        "Matsuoka",
        "Sakuragi",
        "Tsubame",
        "Hinode",
        "Kaneko",
        "Morimoto",
        "Aozora",
        "Oyama",
        "Tachibana",
        "Uchida",
        "Wakaba",
        "Hokuto",
        "Kyowa",
        "Seiwa",
        "Minato",
        "Kogane",
        "Nishiki",
        "Shinsei",
        "Akebono",
        "Hayashi",
        "Okamura",
        "Sugimoto",
        "Tamagawa",
        "Yukiguni",
        "Hakuba",
        "Ginrei",
        "Kazan",
        "Midori",
        "Tenryu",
    ],
    "GC": [
        "Golden Dragon",
        "Jade River",
        "Huaxin",
        "Pearl Delta",
        "Jinhai",
        "Tianrui",
        "Ruifeng",
        "Baofeng",
        "Shenghai",
        "Yongtai",
        "Kaiyuan",
        "Zhenhua",
        "Silver Crane",
        "Red Phoenix",
        "Eastern Lotus",
        "Jiahe",
        "Longteng",
        "Xinyuan",
        "Hongda",
        "Taihe",
        "Fuhua",
        "Jinlong",
        "Sanjiang",
        "Wanfeng",
        "Dongsheng",
        "Lianhua",
        "Huimin",
        "Boyuan",
        "Tongxin",
        "Chenguang",
        "Formosa Star",
        "Ever Harvest",
        "Sunrise Harbour",
        "Jade Mountain",
        "Great Wall Bay",
    ],
    "KR": [
        "Daesung",
        "Hanil",
        "Sejin",
        "Haesung",
        "Dongil",
        "Samjin",
        "Kumyang",
        "Hwaseong",
        "Jinyang",
        "Taeyang",
        "Seoyeon",
        "Hanbit",
        "Daewon",
        "Myungjin",
        "Sungwoo",
        "Iljin",
        "Bokwang",
        "Chungwoo",
        "Hyosung Hill",
        "Namsan",
    ],
    "IN": [
        "Shree Ganesh",
        "Bharat",
        "Vardhman",
        "Kaveri",
        "Narmada",
        "Triveni",
        "Sahyadri",
        "Godavari",
        "Ashoka",
        "Indus Valley",
        "Jyoti",
        "Lakshmi",
        "Deccan",
        "Konkan",
        "Sai Krupa",
        "Himalaya Peak",
        "Malabar",
        "Saraswati",
        "Vindhya",
        "Ganga",
    ],
    "SEA": [
        "Lion City",
        "Straits",
        "Merlion",
        "Harbourfront",
        "Kinabalu",
        "Perdana",
        "Sinar",
        "Siam Star",
        "Chao Phraya",
        "Lanna",
        "Andaman",
        "Malacca",
        "Borneo",
        "Serai",
        "Emerald Bay",
        "Temasek Park",
        "Putra",
        "Mekong",
        "Orchid",
        "Rajawali",
    ],
    "AU": [
        "Southern Cross",
        "Coral Coast",
        "Red Gum",
        "Outback",
        "Kestrel",
        "Wattle",
        "Murray",
        "Pilbara",
        "Tasman",
        "Bluestone",
        "Eucalypt",
        "Kimberley",
        "Gidgee",
        "Boab",
        "Nullarbor",
        "Jarrah",
        "Kakadu",
        "Ironbark",
        "Spinifex",
        "Cape York",
    ],
}
