"""Reference data the generator samples from: store pages, products, geography, devices, sources.

Values mimic the Google Merchandise Store sample (placeholders such as ``<Other>``,
``(data deleted)`` and ``(not set)`` included); shares come from docs/ga4-export.md.
Everything here is small, static and built once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

HOST = "shop.googlemerchandisestore.com"
BASE_URL = f"https://{HOST}"
STREAM_ID = 2100450278
# the shop's app stream (identity.py): its id, and app_info (id, version, install_store,
# firebase_app_id, install_source) by platform
APP_STREAM_ID = 2468013579
APP_INFO: dict[str, tuple[str, str, str, str, str]] = {
    "IOS": (
        "com.google.merchandisestore.ios",
        "3.4.0",
        "iTunes",
        "1:405371262948:ios:8d1e4c61a2b3",
        "iTunes",
    ),
    "ANDROID": (
        "com.google.merchandisestore",
        "3.4.1",
        "com.android.vending",
        "1:405371262948:android:3f0c2b7a9e51",
        "com.android.vending",
    ),
}
NOT_SET = "(not set)"
OTHER = "<Other>"
DELETED = "(data deleted)"

# --- event names (the sample's 17; index = event code) -------------------------------------------
EVENT_NAMES: tuple[str, ...] = (
    "session_start",
    "first_visit",
    "page_view",
    "view_promotion",
    "select_promotion",
    "view_item_list",
    "view_item",
    "select_item",
    "view_search_results",
    "add_to_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
    "scroll",
    "click",
    "user_engagement",
)
EV = {name: code for code, name in enumerate(EVENT_NAMES)}

# --- products -------------------------------------------------------------------------------------
# (name, category, category2, price USD, popularity weight)
_PRODUCTS: tuple[tuple[str, str, str, float, float], ...] = (
    ("Google Canteen Bottle Black", "Drinkware", "Water Bottles", 28.0, 9.0),
    ("Google Utility BackPack", "Bags", "Backpacks", 92.0, 4.0),
    ("Google Zip Hoodie F/C", "Apparel", "Men's / Unisex", 44.0, 6.0),
    ("Google Campus Bike", "Lifestyle", "Fun", 40.0, 3.0),
    ("Google Crewneck Sweatshirt Navy", "Apparel", "Men's / Unisex", 50.0, 4.0),
    ("Google Men's Tech Fleece Grey", "Apparel", "Men's / Unisex", 75.0, 2.0),
    ("Google Women's Striped L/S", "Apparel", "Women's", 30.0, 2.0),
    ("Google Land & Sea Cotton Cap", "Apparel", "Hats", 22.0, 4.0),
    ("Google Black Cloud Zip Hoodie", "Apparel", "Men's / Unisex", 68.0, 2.5),
    ("Google Heathered Pom Beanie", "Apparel", "Hats", 16.0, 3.0),
    ("YouTube Twill Cap", "Apparel", "Hats", 20.0, 2.0),
    ("YouTube Icon Tee Charcoal", "Apparel", "Men's / Unisex", 18.0, 2.5),
    ("Android Iconic Sock", "Apparel", "Socks", 17.0, 2.0),
    ("Google Kirkland Campus Tee", "Apparel", "Campus Collection", 24.0, 2.0),
    ("Google Seattle Campus Ladies Tee", "Apparel", "Campus Collection", 24.0, 1.5),
    ("Google NYC Campus Zip Hoodie", "Apparel", "Campus Collection", 48.0, 1.5),
    ("Google Infant Hero Onesie Grey", "Apparel", "Kids", 16.0, 1.5),
    ("Google Toddler Tee Red", "Apparel", "Kids", 14.0, 1.2),
    ("Google Leather Strap Hat Black", "Apparel", "Hats", 24.0, 1.5),
    ("Google Badge Heavyweight Pullover Black", "Apparel", "Men's / Unisex", 80.0, 1.0),
    ("Google Metallic Notebook Set", "Office", "Notebooks & Journals", 6.0, 3.0),
    ("Google Leather Journal", "Office", "Notebooks & Journals", 19.0, 2.0),
    ("Google Pen Bright Blue", "Office", "Writing Instruments", 2.0, 3.0),
    ("Google Recycled Writing Set", "Office", "Writing Instruments", 5.0, 2.0),
    ("Google Desk Mat", "Office", "Office Other", 24.0, 1.5),
    ("Google Sticker Sheet", "Office", "Office Other", 3.0, 3.0),
    ("Google Laptop Tech Backpack", "Bags", "Backpacks", 82.0, 2.0),
    ("Google Cork Tote Bag", "Bags", "Shopping and Totes", 24.0, 2.0),
    ("Google Large Tote White", "Bags", "Shopping and Totes", 18.0, 2.0),
    ("Google Packable Duffel", "Bags", "Duffel Bags", 46.0, 1.0),
    ("Google Ceramic Mug", "Drinkware", "Mugs", 14.0, 3.0),
    ("Google Camp Mug Ivory", "Drinkware", "Mugs", 16.0, 2.5),
    ("Google Stainless Steel Tumbler", "Drinkware", "Tumblers", 30.0, 2.0),
    ("Android Glass Water Bottle", "Drinkware", "Water Bottles", 24.0, 1.5),
    ("Google Chrome Dino Light Up Water Bottle", "Drinkware", "Water Bottles", 22.0, 2.5),
    ("Google Phone Stand Bamboo", "Electronics", "Electronics Accessories", 20.0, 1.5),
    ("Google Wireless Earbuds Case", "Electronics", "Electronics Accessories", 26.0, 1.0),
    ("Google Power Bank", "Electronics", "Electronics Accessories", 35.0, 1.0),
    ("Google Mural Collection Puzzle", "Lifestyle", "Fun", 24.0, 1.5),
    ("Google Pet Collar Red", "Lifestyle", "Pet", 18.0, 1.0),
    ("Google Dino Game Tee", "Apparel", "Men's / Unisex", 22.0, 1.5),
    ("Google Maps Pin", "Lifestyle", "Small Goods", 4.0, 2.0),
    ("Google Lunch Bag", "Bags", "Shopping and Totes", 20.0, 1.0),
    ("Google Umbrella Black", "Lifestyle", "Small Goods", 24.0, 1.0),
    ("Google Sunglasses", "Lifestyle", "Small Goods", 10.0, 1.5),
    ("Google Socks Colorblock", "Apparel", "Socks", 12.0, 1.5),
    ("Google Keychain", "Lifestyle", "Small Goods", 6.0, 2.0),
    ("Google Gift Card", "Lifestyle", "Gift Cards", 50.0, 0.8),
    ("Google Bike Bell", "Lifestyle", "Fun", 9.0, 1.0),
    ("Google Fleece Blanket", "Lifestyle", "Home", 48.0, 0.8),
)


@dataclass(frozen=True)
class Products:
    """Product table; row 0 is the ``(not set)`` placeholder that promotion items carry."""

    item_id: list[str]
    item_name: list[str]
    item_brand: list[str]
    item_variant: list[str]
    item_category: list[str]
    item_category2: list[str]
    item_category3: list[str]
    item_category4: list[str]
    item_category5: list[str]
    price: np.ndarray  # float64, NaN for the placeholder
    weight: np.ndarray  # sampling probabilities over rows 1..n (row 0 excluded)
    page_path: list[str]


# item_category3: the product type, by a word of its name (first match wins); none -> (not set)
_PRODUCT_TYPES: tuple[tuple[str, str], ...] = (
    ("Hoodie", "Hoodies"),
    ("Tee", "T-Shirts"),
    ("Sweatshirt", "Sweatshirts"),
    ("Pullover", "Sweatshirts"),
    ("Fleece", "Fleece"),
    ("Cap", "Caps"),
    ("Hat", "Caps"),
    ("Beanie", "Beanies"),
    ("Sock", "Socks"),
    ("Bottle", "Bottles"),
    ("Mug", "Mugs"),
    ("Tumbler", "Tumblers"),
    ("BackPack", "Backpacks"),
    ("Backpack", "Backpacks"),
    ("Tote", "Totes"),
    ("Notebook", "Notebooks"),
    ("Journal", "Notebooks"),
    ("Pen", "Pens"),
)
# item_category4 / item_category5: seasonal collections on every 4th / 8th product (sparse, as deeper
# levels are on real sites)
COLLECTION4, COLLECTION5 = "Holiday 2020", "Gift Ideas"


def _product_type(name: str) -> str:
    words = name.replace("/", " ").split()
    return next((t for key, t in _PRODUCT_TYPES if any(w.startswith(key) for w in words)), NOT_SET)


@cache
def products() -> Products:
    ids, names, brands, variants, cats, cats2, cats3, cats4, cats5, prices, weights, paths = (
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [NOT_SET],
        [np.nan],
        [0.0],
        [""],
    )
    for i, (name, cat, cat2, price, weight) in enumerate(_PRODUCTS):
        cats3.append(_product_type(name))
        cats4.append(COLLECTION4 if i % 4 == 1 else NOT_SET)
        cats5.append(COLLECTION5 if i % 8 == 1 else NOT_SET)
        ids.append(f"GGOE{cat[:2].upper()}{cat2[:1].upper()}{9000 + i * 37:04d}")
        names.append(name)
        brands.append(
            "YouTube" if name.startswith("YouTube") else "Android" if name.startswith("Android") else "Google"
        )
        variants.append(NOT_SET if i % 3 else "Single Option Only")
        cats.append(cat)
        cats2.append(cat2)
        prices.append(price)
        weights.append(weight)
        paths.append(f"/Google+Redesign/{cat}/{name.replace(' ', '+').replace('/', '')}")
    w = np.asarray(weights[1:], dtype=np.float64)
    return Products(
        ids, names, brands, variants, cats, cats2, cats3, cats4, cats5, np.asarray(prices), w / w.sum(), paths
    )


# --- promotions on the home page carousel ---------------------------------------------------------
PROMOTIONS: tuple[tuple[str, str, str], ...] = (
    ("Reach New Heights", "Front Page Carousel", "Slide 1"),
    ("Complete Your Collection", "Front Page Carousel", "Slide 2"),
    ("Google Mural Collection", "Front Page Carousel", "Slide 3"),
    ("Holiday Gift Guide", "Front Page Carousel", "Slide 4"),
    ("Fresh Fleece", "Front Page Carousel", "Slide 5"),
)

# --- pages -----------------------------------------------------------------------------------------
CATEGORY_PAGES: tuple[tuple[str, str], ...] = (
    ("/Google+Redesign/Apparel", "Apparel | Google Merchandise Store"),
    ("/Google+Redesign/Apparel/Mens", "Men's / Unisex | Apparel | Google Merchandise Store"),
    ("/Google+Redesign/Apparel/Womens", "Women's | Apparel | Google Merchandise Store"),
    ("/Google+Redesign/Apparel/Kids", "Kids | Apparel | Google Merchandise Store"),
    ("/Google+Redesign/Apparel/Hats", "Hats | Apparel | Google Merchandise Store"),
    ("/Google+Redesign/Campus+Collection", "Campus Collection | Google Merchandise Store"),
    ("/Google+Redesign/Lifestyle/Drinkware", "Drinkware | Lifestyle | Google Merchandise Store"),
    ("/Google+Redesign/Lifestyle/Bags", "Bags | Lifestyle | Google Merchandise Store"),
    ("/Google+Redesign/Stationery", "Stationery | Google Merchandise Store"),
    ("/Google+Redesign/Electronics", "Electronics | Google Merchandise Store"),
    ("/Google+Redesign/Shop+by+Brand/YouTube", "YouTube | Shop by Brand | Google Merchandise Store"),
    ("/Google+Redesign/Shop+by+Brand/Android", "Android | Shop by Brand | Google Merchandise Store"),
    ("/Google+Redesign/New", "New | Google Merchandise Store"),
    ("/Google+Redesign/Sale", "Sale | Google Merchandise Store"),
)
OTHER_PAGES: tuple[tuple[str, str], ...] = (
    ("/store.html", "Store | Google Merchandise Store"),
    ("/signin.html", "The Google Merchandise Store - Log In"),
    ("/myaccount.html", "My Account | Google Merchandise Store"),
    ("/store-policies/frequently-asked-questions", "Frequently Asked Questions"),
    ("/store-policies/shipping-information", "Shipping Information"),
    ("/registersuccess.html", "Registration Success | Google Merchandise Store"),
)
HOME_PAGE = ("/", "Home")


@cache
def content_groups() -> tuple[str, ...]:
    """The site's ``content_group`` of every page, laid out as the pool's page groups: home, category
    pages (their top level), other pages, products (their category; row 0 the placeholder), funnel."""
    cat_pages = tuple(path.split("/")[2].replace("+", " ") for path, _ in CATEGORY_PAGES)
    other = tuple(
        "Help" if "policies" in path else "Store" if path == "/store.html" else "Account"
        for path, _ in OTHER_PAGES
    )
    return ("Home", *cat_pages, *other, *products().item_category, *("Checkout",) * len(FUNNEL_PAGES))


FUNNEL_PAGES: tuple[tuple[str, str], ...] = (
    ("/basket.html", "Shopping Cart"),
    ("/yourinfo.html", "Checkout Your Information"),
    ("/payment.html", "Payment Method"),
    ("/revieworder.html", "Checkout Review"),
    ("/ordercompleted.html", "Checkout Confirmation"),
)
SEARCH_TERMS: tuple[str, ...] = (
    "bottle",
    "hoodie",
    "backpack",
    "mug",
    "t-shirt",
    "cap",
    "socks",
    "youtube",
    "android",
    "dino",
    "notebook",
    "pen",
    "sweatshirt",
    "kids",
    "bag",
    "tumbler",
    "sticker",
    "jacket",
    "campus",
    "beanie",
    "tote",
    "gift card",
    "onesie",
    "puzzle",
    "umbrella",
    "chrome",
    "pixel",
    "stainless",
    "fleece",
    "sale",
)
OUTBOUND_LINKS: tuple[tuple[str, str], ...] = (
    ("https://www.youtube.com/googlemerchandisestore", "www.youtube.com"),
    ("https://support.google.com/merchandisestore", "support.google.com"),
    ("https://www.google.com/about/", "www.google.com"),
    ("https://twitter.com/googlestore", "twitter.com"),
    ("https://www.instagram.com/googlestore/", "www.instagram.com"),
)
PAYMENT_TYPES: tuple[str, ...] = ("Pay with credit card", "PayPal")
SHIPPING_TIERS: tuple[str, ...] = ("FedEx Ground", "UPS Ground", "FedEx 2Day", "Free Shipping")
COUPONS: tuple[str, ...] = ("HOLIDAY20", "FREESHIP", "GOOGLE10")

# --- traffic sources -------------------------------------------------------------------------------
# (source, medium, traffic_source.name, session share, conversion multiplier) from
# docs/ga4-export.md#traffic-sources: the multiplier is orders/sessions relative to the average, so
# revenue by source keeps the sample's ranking ((data deleted) and self-referral convert best).
SOURCES: tuple[tuple[str, str, str, float, float], ...] = (
    ("google", "organic", "(organic)", 0.3129, 0.83),
    ("(direct)", "(none)", "(direct)", 0.2317, 0.94),
    (OTHER, OTHER, OTHER, 0.1446, 0.74),
    (OTHER, "referral", "(referral)", 0.0963, 1.02),
    (HOST, "referral", "(referral)", 0.0801, 1.57),
    (DELETED, DELETED, DELETED, 0.0617, 2.36),
    ("google", "cpc", OTHER, 0.0434, 0.69),
    (OTHER, "organic", "(organic)", 0.0282, 0.73),
    (OTHER, DELETED, DELETED, 0.0011, 1.83),
)
SRC_ORGANIC, SRC_DIRECT, SRC_OTHER, SRC_REFERRAL, SRC_SELF, SRC_DELETED, SRC_CPC, SRC_OTHER_ORGANIC = range(8)
# Referrer URL a landing page gets per source (None = no page_referrer param).
SOURCE_REFERRER: tuple[str | None, ...] = (
    "https://www.google.com/",
    None,
    "https://www.youtube.com/",
    "https://www.reddit.com/",
    f"{BASE_URL}/",
    None,
    "https://www.google.com/",
    "https://www.bing.com/",
    None,
)
CPC_CAMPAIGNS: tuple[str, ...] = (
    "1009693 | Google Merch Shop - Search - US",
    "1009700 | Merch - Holiday - Shopping",
)

# --- devices ---------------------------------------------------------------------------------------
CATEGORIES: tuple[tuple[str, float], ...] = (("desktop", 0.5802), ("mobile", 0.3976), ("tablet", 0.0222))
# (category, brand, model, os, os_version, browser, browser_version, weight within category)
DEVICE_PROFILES: tuple[tuple[str, str, str, str, str, str, str, float], ...] = (
    ("desktop", "Google", "Chrome", "Web", "Web", "Chrome", "87.0", 0.34),
    ("desktop", "Google", "Chrome", "Windows", "Windows 10", "Chrome", "87.0", 0.20),
    ("desktop", "Apple", "Safari", "Macintosh", "Macintosh Intel 10.15", "Safari", "14.0", 0.12),
    ("desktop", "Google", "Chrome", "Macintosh", "Macintosh Intel 10.15", "Chrome", "86.0", 0.10),
    ("desktop", "Microsoft", "Edge", "Windows", "Windows 10", "Edge", "87.0", 0.08),
    ("desktop", "Mozilla", "Firefox", "Windows", "Windows 10", "Firefox", "83.0", 0.06),
    ("desktop", OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0.06),
    ("desktop", "Google", "Chrome", "Linux", OTHER, "Chrome", "87.0", 0.04),
    ("mobile", "Apple", "iPhone", "iOS", "iOS 14.2", "Safari", "14.0", 0.33),
    ("mobile", "Apple", "Safari", "Web", "Web", "Safari", "14.0", 0.10),
    ("mobile", "Google", "Chrome", "Android", "Android 10", "Chrome", "87.0", 0.25),
    ("mobile", "Samsung", "SM-G973F", "Android", "Android 10", "Samsung Internet", "13.0", 0.10),
    ("mobile", "Google", "Pixel 4a", "Android", "Android 11", "Chrome", "87.0", 0.06),
    ("mobile", "Xiaomi", OTHER, "Android", "Android 10", "Chrome", "86.0", 0.06),
    ("mobile", OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0.10),
    ("tablet", "Apple", "iPad", "iOS", "iOS 14.2", "Safari", "14.0", 0.60),
    ("tablet", "Samsung", "SM-T510", "Android", "Android 10", "Chrome", "87.0", 0.20),
    ("tablet", "Amazon", "Fire HD 8", "Android", "Android 9", "Silk", "87.3", 0.10),
    ("tablet", OTHER, OTHER, "Android", OTHER, "Chrome", "87.0", 0.10),
)

# --- geography -------------------------------------------------------------------------------------
# (country, continent, sub_continent, language, session share, [(region, city, metro), ...])
_AMER, _EURO, _ASIA, _AFR, _OCE = "Americas", "Europe", "Asia", "Africa", "Oceania"
COUNTRIES: tuple[tuple[str, str, str, str, float, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "United States",
        _AMER,
        "Northern America",
        "en-us",
        0.4392,
        (
            ("California", "Mountain View", "San Francisco-Oakland-San Jose CA"),
            ("California", "San Jose", "San Francisco-Oakland-San Jose CA"),
            ("California", "Los Angeles", "Los Angeles CA"),
            ("New York", "New York", "New York, NY"),
            ("Washington", "Seattle", "Seattle-Tacoma WA"),
            ("Illinois", "Chicago", "Chicago IL"),
            ("Texas", "Austin", "Austin TX"),
            ("Texas", "Dallas", "Dallas-Ft. Worth TX"),
            ("Massachusetts", "Cambridge", "Boston MA-Manchester NH"),
            ("Georgia", "Atlanta", "Atlanta GA"),
            (NOT_SET, NOT_SET, NOT_SET),
        ),
    ),
    (
        "India",
        _ASIA,
        "Southern Asia",
        "en-gb",
        0.0938,
        (
            ("Karnataka", "Bengaluru", NOT_SET),
            ("Maharashtra", "Mumbai", NOT_SET),
            ("Telangana", "Hyderabad", NOT_SET),
            ("Delhi", "New Delhi", NOT_SET),
            (NOT_SET, NOT_SET, NOT_SET),
        ),
    ),
    (
        "Canada",
        _AMER,
        "Northern America",
        "en-ca",
        0.0745,
        (
            ("Ontario", "Toronto", NOT_SET),
            ("British Columbia", "Vancouver", NOT_SET),
            ("Quebec", "Montreal", NOT_SET),
            ("Ontario", "Waterloo", NOT_SET),
        ),
    ),
    (
        "United Kingdom",
        _EURO,
        "Northern Europe",
        "en-gb",
        0.0315,
        (
            ("England", "London", NOT_SET),
            ("England", "Manchester", NOT_SET),
            ("Scotland", "Edinburgh", NOT_SET),
        ),
    ),
    (
        "France",
        _EURO,
        "Western Europe",
        "fr",
        0.0199,
        (("Ile-de-France", "Paris", NOT_SET), (NOT_SET, NOT_SET, NOT_SET)),
    ),
    (
        "Spain",
        _EURO,
        "Southern Europe",
        "es-es",
        0.0185,
        (("Community of Madrid", "Madrid", NOT_SET), ("Catalonia", "Barcelona", NOT_SET)),
    ),
    (
        "China",
        _ASIA,
        "Eastern Asia",
        "zh-cn",
        0.0174,
        ((NOT_SET, NOT_SET, NOT_SET), ("Beijing", "Beijing", NOT_SET)),
    ),
    (
        "Japan",
        _ASIA,
        "Eastern Asia",
        "ja",
        0.0131,
        (("Tokyo", "Minato City", NOT_SET), ("Osaka", "Osaka", NOT_SET)),
    ),
    (
        "Germany",
        _EURO,
        "Western Europe",
        "de",
        0.0130,
        (("Bavaria", "Munich", NOT_SET), ("Berlin", "Berlin", NOT_SET)),
    ),
    ("Taiwan", _ASIA, "Eastern Asia", "zh-tw", 0.0120, (("Taipei City", "Taipei", NOT_SET),)),
    ("Singapore", _ASIA, "Southeast Asia", "en-sg", 0.0100, ((NOT_SET, "Singapore", NOT_SET),)),
    ("Netherlands", _EURO, "Western Europe", "nl", 0.0090, (("North Holland", "Amsterdam", NOT_SET),)),
    (
        "Italy",
        _EURO,
        "Southern Europe",
        "it",
        0.0088,
        (("Lombardy", "Milan", NOT_SET), ("Lazio", "Rome", NOT_SET)),
    ),
    ("Turkey", _ASIA, "Western Asia", "tr", 0.0085, (("Istanbul", "Istanbul", NOT_SET),)),
    (
        "Australia",
        _OCE,
        "Australasia",
        "en-au",
        0.0085,
        (("New South Wales", "Sydney", NOT_SET), ("Victoria", "Melbourne", NOT_SET)),
    ),
    ("South Korea", _ASIA, "Eastern Asia", "ko", 0.0080, (("Seoul", "Seoul", NOT_SET),)),
    ("Brazil", _AMER, "South America", "pt-br", 0.0080, (("State of Sao Paulo", "Sao Paulo", NOT_SET),)),
    ("Mexico", _AMER, "Central America", "es-419", 0.0070, (("Mexico City", "Mexico City", NOT_SET),)),
    ("Philippines", _ASIA, "Southeast Asia", "en-us", 0.0068, (("Metro Manila", "Makati", NOT_SET),)),
    ("Indonesia", _ASIA, "Southeast Asia", "id", 0.0066, (("Jakarta", "Jakarta", NOT_SET),)),
    ("Vietnam", _ASIA, "Southeast Asia", "vi", 0.0060, (("Ho Chi Minh City", "Ho Chi Minh City", NOT_SET),)),
    ("Israel", _ASIA, "Western Asia", "he", 0.0058, (("Tel Aviv District", "Tel Aviv-Yafo", NOT_SET),)),
    ("Russia", _EURO, "Eastern Europe", "ru", 0.0050, (("Moscow", "Moscow", NOT_SET),)),
    ("Poland", _EURO, "Eastern Europe", "pl", 0.0050, (("Masovian Voivodeship", "Warsaw", NOT_SET),)),
    ("Hong Kong", _ASIA, "Eastern Asia", "zh-hk", 0.0048, ((NOT_SET, "Hong Kong", NOT_SET),)),
    (
        "Malaysia",
        _ASIA,
        "Southeast Asia",
        "en-us",
        0.0046,
        (("Federal Territory of Kuala Lumpur", "Kuala Lumpur", NOT_SET),),
    ),
    ("Thailand", _ASIA, "Southeast Asia", "th", 0.0044, (("Bangkok", "Bangkok", NOT_SET),)),
    ("Ireland", _EURO, "Northern Europe", "en-gb", 0.0040, (("County Dublin", "Dublin", NOT_SET),)),
    ("Sweden", _EURO, "Northern Europe", "sv", 0.0040, (("Stockholm County", "Stockholm", NOT_SET),)),
    ("Switzerland", _EURO, "Western Europe", "de-ch", 0.0035, (("Zurich", "Zurich", NOT_SET),)),
    ("Belgium", _EURO, "Western Europe", "nl", 0.0035, (("Brussels", "Brussels", NOT_SET),)),
    ("Pakistan", _ASIA, "Southern Asia", "en-us", 0.0035, (("Punjab", "Lahore", NOT_SET),)),
    ("Egypt", _AFR, "Northern Africa", "ar", 0.0030, (("Cairo Governorate", "Cairo", NOT_SET),)),
    ("Nigeria", _AFR, "Western Africa", "en-us", 0.0030, (("Lagos", "Lagos", NOT_SET),)),
    ("Argentina", _AMER, "South America", "es-419", 0.0030, (("Buenos Aires", "Buenos Aires", NOT_SET),)),
    ("Colombia", _AMER, "South America", "es-419", 0.0030, (("Bogota", "Bogota", NOT_SET),)),
    ("Saudi Arabia", _ASIA, "Western Asia", "ar", 0.0030, (("Riyadh Province", "Riyadh", NOT_SET),)),
    ("United Arab Emirates", _ASIA, "Western Asia", "en-us", 0.0030, (("Dubai", "Dubai", NOT_SET),)),
    ("Ukraine", _EURO, "Eastern Europe", "uk", 0.0030, (("Kyiv city", "Kyiv", NOT_SET),)),
    ("Greece", _EURO, "Southern Europe", "el", 0.0025, (("Attica", "Athens", NOT_SET),)),
    ("Portugal", _EURO, "Southern Europe", "pt-pt", 0.0025, (("Lisbon", "Lisbon", NOT_SET),)),
    ("Romania", _EURO, "Eastern Europe", "ro", 0.0025, (("Bucharest", "Bucharest", NOT_SET),)),
    ("Czechia", _EURO, "Eastern Europe", "cs", 0.0020, (("Prague", "Prague", NOT_SET),)),
    (
        "Denmark",
        _EURO,
        "Northern Europe",
        "da",
        0.0020,
        (("Capital Region of Denmark", "Copenhagen", NOT_SET),),
    ),
    ("Norway", _EURO, "Northern Europe", "nb", 0.0020, (("Oslo", "Oslo", NOT_SET),)),
    ("Austria", _EURO, "Western Europe", "de-at", 0.0020, (("Vienna", "Vienna", NOT_SET),)),
    (
        "Chile",
        _AMER,
        "South America",
        "es-419",
        0.0020,
        (("Santiago Metropolitan Region", "Santiago", NOT_SET),),
    ),
    ("South Africa", _AFR, "Southern Africa", "en-za", 0.0020, (("Gauteng", "Johannesburg", NOT_SET),)),
    ("Bangladesh", _ASIA, "Southern Asia", "en-us", 0.0020, (("Dhaka Division", "Dhaka", NOT_SET),)),
    ("Finland", _EURO, "Northern Europe", "fi", 0.0015, (("Uusimaa", "Helsinki", NOT_SET),)),
    ("Hungary", _EURO, "Eastern Europe", "hu", 0.0015, (("Budapest", "Budapest", NOT_SET),)),
    ("Peru", _AMER, "South America", "es-419", 0.0015, (("Lima Region", "Lima", NOT_SET),)),
    ("New Zealand", _OCE, "Australasia", "en-nz", 0.0015, (("Auckland", "Auckland", NOT_SET),)),
    ("Kenya", _AFR, "Eastern Africa", "en-us", 0.0010, (("Nairobi County", "Nairobi", NOT_SET),)),
    ("Sri Lanka", _ASIA, "Southern Asia", "en-us", 0.0010, (("Western Province", "Colombo", NOT_SET),)),
    (NOT_SET, NOT_SET, NOT_SET, "en-us", 0.0075, ((NOT_SET, NOT_SET, NOT_SET),)),
)
# The long tail: 7.4 % of sessions spread evenly over smaller markets (one city each).
_TAIL: tuple[tuple[str, str, str, str, str], ...] = (
    ("Morocco", _AFR, "Northern Africa", "fr", "Casablanca"),
    ("Algeria", _AFR, "Northern Africa", "fr", "Algiers"),
    ("Tunisia", _AFR, "Northern Africa", "fr", "Tunis"),
    ("Ghana", _AFR, "Western Africa", "en-us", "Accra"),
    ("Ethiopia", _AFR, "Eastern Africa", "en-us", "Addis Ababa"),
    ("Kazakhstan", _ASIA, "Central Asia", "ru", "Almaty"),
    ("Uzbekistan", _ASIA, "Central Asia", "ru", "Tashkent"),
    ("Nepal", _ASIA, "Southern Asia", "en-us", "Kathmandu"),
    ("Myanmar (Burma)", _ASIA, "Southeast Asia", "en-us", "Yangon"),
    ("Cambodia", _ASIA, "Southeast Asia", "en-us", "Phnom Penh"),
    ("Iraq", _ASIA, "Western Asia", "ar", "Baghdad"),
    ("Jordan", _ASIA, "Western Asia", "ar", "Amman"),
    ("Lebanon", _ASIA, "Western Asia", "ar", "Beirut"),
    ("Kuwait", _ASIA, "Western Asia", "ar", "Kuwait City"),
    ("Qatar", _ASIA, "Western Asia", "ar", "Doha"),
    ("Oman", _ASIA, "Western Asia", "ar", "Muscat"),
    ("Georgia", _ASIA, "Western Asia", "ka", "Tbilisi"),
    ("Armenia", _ASIA, "Western Asia", "hy", "Yerevan"),
    ("Azerbaijan", _ASIA, "Western Asia", "ru", "Baku"),
    ("Mongolia", _ASIA, "Eastern Asia", "en-us", "Ulaanbaatar"),
    ("Macao", _ASIA, "Eastern Asia", "zh-tw", "Macao"),
    ("Bulgaria", _EURO, "Eastern Europe", "bg", "Sofia"),
    ("Serbia", _EURO, "Southern Europe", "sr", "Belgrade"),
    ("Croatia", _EURO, "Southern Europe", "hr", "Zagreb"),
    ("Slovakia", _EURO, "Eastern Europe", "sk", "Bratislava"),
    ("Slovenia", _EURO, "Southern Europe", "sl", "Ljubljana"),
    ("Lithuania", _EURO, "Northern Europe", "lt", "Vilnius"),
    ("Latvia", _EURO, "Northern Europe", "lv", "Riga"),
    ("Estonia", _EURO, "Northern Europe", "et", "Tallinn"),
    ("Belarus", _EURO, "Eastern Europe", "ru", "Minsk"),
    ("Iceland", _EURO, "Northern Europe", "is", "Reykjavik"),
    ("Luxembourg", _EURO, "Western Europe", "fr", "Luxembourg"),
    ("Cyprus", _ASIA, "Western Asia", "el", "Nicosia"),
    ("Malta", _EURO, "Southern Europe", "en-gb", "Valletta"),
    ("Ecuador", _AMER, "South America", "es-419", "Quito"),
    ("Venezuela", _AMER, "South America", "es-419", "Caracas"),
    ("Uruguay", _AMER, "South America", "es-419", "Montevideo"),
    ("Bolivia", _AMER, "South America", "es-419", "La Paz"),
    ("Guatemala", _AMER, "Central America", "es-419", "Guatemala City"),
    ("Costa Rica", _AMER, "Central America", "es-419", "San Jose"),
    ("Panama", _AMER, "Central America", "es-419", "Panama City"),
    ("Dominican Republic", _AMER, "Caribbean", "es-419", "Santo Domingo"),
    ("Puerto Rico", _AMER, "Caribbean", "es-419", "San Juan"),
    ("Jamaica", _AMER, "Caribbean", "en-us", "Kingston"),
    ("Trinidad & Tobago", _AMER, "Caribbean", "en-us", "Port of Spain"),
)
_TAIL_SHARE = 1.0 - sum(c[4] for c in COUNTRIES)
COUNTRIES = COUNTRIES + tuple(
    (name, cont, sub, lang, _TAIL_SHARE / len(_TAIL), ((NOT_SET, city, NOT_SET),))
    for name, cont, sub, lang, city in _TAIL
)


@dataclass(frozen=True)
class Geo:
    """Flattened (country, region, city) rows with sampling probabilities."""

    continent: list[str]
    sub_continent: list[str]
    country: list[str]
    region: list[str]
    city: list[str]
    metro: list[str]
    language: list[str]
    prob: np.ndarray


@cache
def geo() -> Geo:
    cols: dict[str, list[str]] = {
        k: [] for k in ("continent", "sub", "country", "region", "city", "metro", "lang")
    }
    probs: list[float] = []
    for country, continent, sub, lang, share, places in COUNTRIES:
        # Big cities first: a 1/(rank+1) split inside the country.
        w = np.array([1.0 / (i + 1) for i in range(len(places))])
        w = w / w.sum() * share
        for (region, city, metro), p in zip(places, w, strict=True):
            cols["continent"].append(continent)
            cols["sub"].append(sub)
            cols["country"].append(country)
            cols["region"].append(region)
            cols["city"].append(city)
            cols["metro"].append(metro)
            cols["lang"].append(lang)
            probs.append(float(p))
    prob = np.asarray(probs)
    return Geo(
        cols["continent"],
        cols["sub"],
        cols["country"],
        cols["region"],
        cols["city"],
        cols["metro"],
        cols["lang"],
        prob / prob.sum(),
    )


def device_probabilities() -> np.ndarray:
    """Probability of each DEVICE_PROFILES row (category share x weight within category)."""
    share = dict((name, s) for name, s in CATEGORIES)
    raw = np.array([share[p[0]] * p[7] for p in DEVICE_PROFILES])
    totals: dict[str, float] = {}
    for p in DEVICE_PROFILES:
        totals[p[0]] = totals.get(p[0], 0.0) + p[7]
    raw = raw / np.array([totals[p[0]] for p in DEVICE_PROFILES])
    return raw / raw.sum()
