"""Synthetic indicators for the benchmark: a SQLite database with N indicators in total.

    .venv/bin/python bench/generate.py 100000        # prints the path of the database

The database is made the way the app makes one: migrated with ``api.storage.db.upgrade``,
seeded with ``seed.loader.load_seed``, then every synthetic indicator is validated with
``schemas.records.load_content`` and written with ``api.storage.publish.save`` (large
transactions of ``BATCH`` records). N counts every indicator, the 42 seed ones included.

Records are varied the way real content is: every category, setting, trafficking type and
NIBRS offense of ``schemas/vocabularies.py``; English text always and Spanish for most records,
built from per-category phrase banks with Zipf-weighted details, so a search term can be common
("person"), middling ("passport") or rare ("quinceañera"); about 6% restricted to law
enforcement, 1% drafts, 4% with a second published version and 1% retired later.

Databases are cached under ``bench/.cache/`` keyed by the count and a hash of this file, the
migrations and the seed files, so reruns are instant; ``--force`` makes a new one.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from api.storage import publish

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 5000
SEED_DATE = datetime(2026, 11, 1, 12, 0, 0)  # synthetic history ends here (fixed: reproducible)
HISTORY_DAYS = 730

# ------------------------------------------------------------------------------ phrase banks
# Every entry is (English, Spanish). Statements are subject + predicate [+ place] [+ detail];
# guidance is one to three sentences from the category's bank and the general one.

SUBJECTS = [
    ("The person", "La persona"), ("The worker", "La persona trabajadora"),
    ("The individual", "El individuo"), ("The employee", "La persona empleada"),
    ("The young person", "La persona joven"), ("The passenger", "La persona pasajera"),
    ("The guest", "La persona huésped"), ("The caller", "La persona que llama"),
    ("The student", "La persona estudiante"), ("The applicant", "La persona solicitante"),
]

PREDICATES: dict[str, list[tuple[str, str]]] = {
    "behavioral": [
        ("appears fearful, anxious or submissive", "parece temerosa, ansiosa o sumisa"),
        ("avoids eye contact and looks to a companion before answering",
         "evita el contacto visual y mira a un acompañante antes de responder"),
        ("gives scripted or inconsistent answers about their situation",
         "da respuestas ensayadas o incoherentes sobre su situación"),
        ("is reluctant to talk to police or other officials",
         "se muestra reacia a hablar con la policía u otras autoridades"),
        ("seems disoriented about the date, the city or where they live",
         "parece desorientada sobre la fecha, la ciudad o dónde vive"),
        ("shows signs of severe distrust toward anyone in uniform",
         "muestra gran desconfianza hacia cualquier persona uniformada"),
        ("is never seen without the same companion",
         "nunca se la ve sin el mismo acompañante"),
    ],
    "physical": [
        ("has bruises, burns or cuts in different stages of healing",
         "tiene moretones, quemaduras o cortes en distintas etapas de curación"),
        ("shows signs of malnutrition or dehydration",
         "muestra señales de desnutrición o deshidratación"),
        ("has a tattoo or branding that suggests ownership",
         "tiene un tatuaje o una marca que sugiere pertenencia"),
        ("lacks medical care for an untreated injury or illness",
         "no recibe atención médica por una lesión o enfermedad sin tratar"),
        ("appears exhausted and sleep deprived", "parece agotada y privada de sueño"),
        ("has injuries consistent with a workplace accident that was never reported",
         "tiene lesiones propias de un accidente laboral que nunca se denunció"),
    ],
    "control": [
        ("is not allowed to speak for themselves", "no puede hablar por sí misma"),
        ("has a companion who insists on answering every question",
         "tiene un acompañante que insiste en responder cada pregunta"),
        ("cannot come and go as they wish", "no puede entrar y salir cuando quiere"),
        ("is watched by cameras or guards where they live",
         "es vigilada con cámaras o guardias donde vive"),
        ("was threatened with harm to their family", "fue amenazada con dañar a su familia"),
        ("was told they would be deported if they left",
         "le dijeron que la deportarían si se iba"),
        ("has their earnings collected by someone else",
         "entrega sus ganancias a otra persona"),
    ],
    "communication": [
        ("has no phone of their own or a phone someone else controls",
         "no tiene teléfono propio o usa uno que otra persona controla"),
        ("receives constant calls or messages checking where they are",
         "recibe llamadas o mensajes constantes que controlan dónde está"),
        ("does not know the address where they stay",
         "no conoce la dirección del lugar donde se aloja"),
        ("uses language typical of the commercial sex trade",
         "usa un lenguaje propio del comercio sexual"),
        ("is advertised online with coded words and prices",
         "es anunciada en internet con palabras clave y precios"),
        ("speaks only through an interpreter chosen by the employer",
         "solo habla a través de un intérprete elegido por el empleador"),
    ],
    "documentation": [
        ("does not hold their own passport or identification",
         "no tiene en su poder su pasaporte ni su identificación"),
        ("carries fraudulent or borrowed identity documents",
         "lleva documentos de identidad falsos o prestados"),
        ("had their visa paperwork handled entirely by a recruiter",
         "tuvo todos los trámites de su visa a cargo de un reclutador"),
        ("cannot say who keeps their work permit", "no sabe quién guarda su permiso de trabajo"),
        ("has a contract in a language they cannot read",
         "tiene un contrato en un idioma que no sabe leer"),
    ],
    "financial": [
        ("owes a large debt to an employer or recruiter",
         "tiene una deuda grande con un empleador o reclutador"),
        ("has a debt that keeps growing for rent, food or transport",
         "tiene una deuda que crece por alquiler, comida o transporte"),
        ("is paid very little or not at all", "recibe muy poco o ningún pago"),
        ("has no access to their own bank account or wages",
         "no tiene acceso a su cuenta bancaria ni a su salario"),
        ("has prepaid cards or large amounts of cash held by someone else",
         "tiene tarjetas prepagadas o mucho efectivo en manos de otra persona"),
        ("was charged recruitment fees they could never repay",
         "pagó comisiones de reclutamiento que nunca podrá saldar"),
    ],
    "living_conditions": [
        ("lives at the workplace or in housing owned by the employer",
         "vive en el lugar de trabajo o en una vivienda del empleador"),
        ("shares a crowded room with many other workers",
         "comparte una habitación abarrotada con muchos otros trabajadores"),
        ("sleeps in a room with locks or bars on the outside",
         "duerme en una habitación con cerraduras o rejas por fuera"),
        ("has few personal possessions for the time they have lived there",
         "tiene pocas pertenencias para el tiempo que lleva viviendo allí"),
        ("is moved often between apartments, motels or cities",
         "es trasladada a menudo entre apartamentos, moteles o ciudades"),
    ],
    "work_conditions": [
        ("works excessively long hours without breaks or days off",
         "trabaja jornadas excesivamente largas sin descansos ni días libres"),
        ("is not paid what was promised", "no recibe el pago prometido"),
        ("works in dangerous conditions without protective equipment",
         "trabaja en condiciones peligrosas sin equipo de protección"),
        ("was recruited for one job and made to do another",
         "fue reclutada para un trabajo y obligada a hacer otro"),
        ("must meet daily quotas to avoid punishment",
         "debe cumplir cuotas diarias para evitar castigos"),
        ("is supervised by a crew leader who controls transport and meals",
         "es supervisada por un capataz que controla el transporte y las comidas"),
    ],
    "travel": [
        ("is traveling with a much older person who is not a relative",
         "viaja con una persona mucho mayor que no es familiar"),
        ("has a bus or plane ticket bought by someone else",
         "tiene un boleto de autobús o avión comprado por otra persona"),
        ("cannot say where they are going or who will meet them",
         "no sabe decir adónde va ni quién la recibirá"),
        ("is one of several people in a vehicle with little luggage",
         "es una de varias personas en un vehículo con poco equipaje"),
        ("was brought across the border by a smuggler who demands payment",
         "cruzó la frontera con un traficante que le exige dinero"),
    ],
    "minor": [
        ("is a minor involved in commercial sex", "es menor de edad y está en el comercio sexual"),
        ("is a minor with an older boyfriend who buys expensive gifts",
         "es menor de edad y tiene un novio mayor que le compra regalos caros"),
        ("is a minor who has run away from home repeatedly",
         "es menor de edad y se ha fugado de casa varias veces"),
        ("is a minor with unexplained absences from school",
         "es menor de edad y tiene ausencias escolares sin explicación"),
        ("is a minor who works late at night instead of attending school",
         "es menor de edad y trabaja de noche en lugar de ir a la escuela"),
        ("is a minor in the care of an adult who is not a guardian",
         "es menor de edad y está a cargo de un adulto que no es su tutor"),
    ],
}

PLACES = {
    "traffic_stop": ("during a traffic stop", "durante un control de tráfico"),
    "domestic_disturbance": ("at a domestic disturbance call",
                             "en un aviso por disturbio doméstico"),
    "commercial_venue": ("at a massage parlor, bar or strip club",
                         "en un salón de masajes, bar o club nocturno"),
    "hotel": ("at a hotel or motel", "en un hotel o motel"),
    "worksite": ("at the worksite", "en el lugar de trabajo"),
    "school_campus": ("on a school or college campus", "en una escuela o campus"),
    "transit": ("at a bus station or airport", "en una estación de autobuses o un aeropuerto"),
    "retail": ("at a store or bank", "en una tienda o un banco"),
    "online": ("in online advertisements", "en anuncios en internet"),
}

#: Details, most common first; picked with Zipf weights so their words span selectivities.
DETAILS = [
    ("according to a coworker", "según un compañero de trabajo"),
    ("and seems afraid of the consequences", "y parece temer las consecuencias"),
    ("and says the situation is temporary", "y dice que la situación es temporal"),
    ("as reported by a neighbor", "según informó un vecino"),
    ("after arriving on a temporary visa", "tras llegar con una visa temporal"),
    ("while a manager waits nearby", "mientras un encargado espera cerca"),
    ("in the middle of the night", "en plena noche"),
    ("and mentions a debt for housing", "y menciona una deuda por la vivienda"),
    ("and mentions a debt for transport", "y menciona una deuda por el transporte"),
    ("after a recruiter promised a modeling job",
     "tras prometerle un reclutador un trabajo de modelo"),
    ("at a farm during the harvest season", "en una granja durante la temporada de cosecha"),
    ("at a nail salon", "en un salón de manicura"),
    ("at a restaurant kitchen", "en la cocina de un restaurante"),
    ("at a construction site", "en una obra de construcción"),
    ("at a factory", "en una fábrica"),
    ("at a truck stop", "en una parada de camiones"),
    ("on a fishing boat", "en un barco pesquero"),
    ("in a private home as a nanny", "en una casa particular como niñera"),
    ("selling magazines door to door", "vendiendo revistas de puerta en puerta"),
    ("at a carnival or traveling fair", "en una feria ambulante"),
    ("near a casino", "cerca de un casino"),
    ("at a cantina", "en una cantina"),
    ("during a quinceañera celebration", "durante una fiesta de quinceañera"),
    ("after meeting the recruiter on social media", "tras conocer al reclutador en redes sociales"),
    ("with a hotel key card in someone else's name",
     "con una tarjeta de hotel a nombre de otra persona"),
    ("with several prepaid phones", "con varios teléfonos prepagados"),
    ("with a receipt for a wire transfer abroad",
     "con un recibo de una transferencia al extranjero"),
    ("at a forestry camp", "en un campamento forestal"),
    ("at a meatpacking plant", "en una planta empacadora de carne"),
    ("at a landscaping company", "en una empresa de jardinería"),
    ("at a dairy", "en una lechería"),
    ("at a cleaning company", "en una empresa de limpieza"),
    ("at a peddling ring", "en una red de venta ambulante"),
    ("at a begging ring", "en una red de mendicidad"),
    ("near a shipyard", "cerca de un astillero"),
    ("on a cruise ship", "en un crucero"),
    ("at a hair braiding salon", "en un salón de trenzas"),
    ("at an escort agency", "en una agencia de acompañantes"),
    ("at a karaoke bar", "en un bar de karaoke"),
    ("in a migrant labor camp", "en un campamento de trabajadores migrantes"),
]

GUIDANCE: dict[str, list[tuple[str, str]]] = {
    "behavioral": [
        ("Speak with the person alone and in a calm setting.",
         "Hable con la persona a solas y en un entorno tranquilo."),
        ("Explain that you are there to help and that they are not in trouble.",
         "Explique que está para ayudar y que la persona no está en problemas."),
    ],
    "physical": [
        ("Offer medical care and document injuries as your protocol allows.",
         "Ofrezca atención médica y documente las lesiones según lo permita su protocolo."),
        ("Ask how the injuries happened in private.",
         "Pregunte en privado cómo ocurrieron las lesiones."),
    ],
    "control": [
        ("Separate the person from any companion before asking questions.",
         "Separe a la persona de cualquier acompañante antes de hacer preguntas."),
        ("Ask whether they can leave their job or home if they want to.",
         "Pregunte si puede dejar su trabajo o su casa si lo desea."),
    ],
    "communication": [
        ("Use a professional interpreter, never a companion or coworker.",
         "Use un intérprete profesional, nunca un acompañante ni un compañero de trabajo."),
        ("Note phone numbers and online handles for investigators.",
         "Anote números de teléfono y perfiles en línea para los investigadores."),
    ],
    "documentation": [
        ("Ask who holds their passport and identification, and why.",
         "Pregunte quién tiene su pasaporte e identificación, y por qué."),
        ("Photograph documents only as your policy allows.",
         "Fotografíe documentos solo según lo permita su política."),
    ],
    "financial": [
        ("Ask how much they owe, to whom, and how the debt is calculated.",
         "Pregunte cuánto debe, a quién y cómo se calcula la deuda."),
        ("Look for pay stubs, ledgers or money transfer receipts.",
         "Busque recibos de sueldo, libretas de cuentas o comprobantes de envío de dinero."),
    ],
    "living_conditions": [
        ("Note how many people live at the address and who controls the doors.",
         "Anote cuántas personas viven en la dirección y quién controla las puertas."),
        ("Ask whether they pay rent and to whom.", "Pregunte si paga alquiler y a quién."),
    ],
    "work_conditions": [
        ("Ask about hours, pay, breaks and what happens if they refuse work.",
         "Pregunte por el horario, el pago, los descansos y qué pasa si se niega a trabajar."),
        ("Contact the labor department when wage theft is suspected.",
         "Contacte al departamento de trabajo si sospecha robo de salarios."),
    ],
    "travel": [
        ("Ask who paid for the trip and who is waiting at the destination.",
         "Pregunte quién pagó el viaje y quién la espera en el destino."),
        ("Check the relationship between travelers without alarming them.",
         "Compruebe la relación entre los viajeros sin alarmarlos."),
    ],
    "minor": [
        ("Treat any minor in commercial sex as a victim, never as an offender.",
         "Trate a toda persona menor en el comercio sexual como víctima, nunca como infractora."),
        ("Contact child protective services and a victim advocate.",
         "Contacte a los servicios de protección infantil y a un defensor de víctimas."),
    ],
}
GENERAL_GUIDANCE = [
    ("Call the National Human Trafficking Hotline for consultation.",
     "Llame a la Línea Nacional contra la Trata de Personas para consultar."),
    ("Connect the person with a victim service provider.",
     "Ponga a la persona en contacto con un proveedor de servicios a víctimas."),
    ("Do not make promises you cannot keep.", "No haga promesas que no pueda cumplir."),
    ("Consider immigration relief such as Continued Presence or a T visa.",
     "Considere un alivio migratorio como la Presencia Continuada o una visa T."),
    ("Record what you observe in your report, in the person's own words.",
     "Registre en su informe lo que observa, con las palabras de la persona."),
    ("Involve a supervisor trained in trauma-informed interviewing.",
     "Involucre a un supervisor capacitado en entrevistas informadas sobre el trauma."),
]

SOURCES = [
    ("https://www.dhs.gov/blue-campaign/indicators-human-trafficking",
     "DHS Blue Campaign: Indicators of Human Trafficking"),
    ("https://www.dhs.gov/blue-campaign/law-enforcement", "DHS Blue Campaign: Law Enforcement"),
    ("https://polarisproject.org/human-trafficking/recognize-the-signs",
     "Polaris Project: Recognizing the Signs"),
    ("https://www.state.gov/trafficking-in-persons-report", "U.S. State Department: TIP Report"),
    ("https://www.unodc.org/unodc/en/human-trafficking/index.html",
     "UNODC: Human Trafficking"),
    ("https://www.acf.hhs.gov/otip/about/what-human-trafficking",
     "HHS Office on Trafficking in Persons"),
    ("https://www.ovc.ojp.gov/program/human-trafficking/overview",
     "Office for Victims of Crime: Human Trafficking"),
    ("https://www.ilo.org/topics/forced-labour-modern-slavery-and-trafficking-persons",
     "ILO: Forced Labour and Trafficking"),
]

CATEGORIES = list(PREDICATES)
CATEGORY_WEIGHTS = [14, 10, 14, 8, 7, 9, 8, 10, 8, 12]
SETTINGS = list(PLACES)
NIBRS_SEX = ["64A", "40A", "40B", "40C"]


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]


DETAIL_WEIGHTS = _zipf_weights(len(DETAILS))
LOCATIVE = ("at ", "on ", "in ", "near ", "during ")


def search_terms() -> list[str]:
    """Words of the generated text (English and Spanish), longest first within each source,
    for varied search queries: every one matches something, with very different selectivity."""
    words: set[str] = set()
    banks: list[tuple[str, str]] = [*SUBJECTS, *DETAILS, *GENERAL_GUIDANCE, *PLACES.values()]
    for bank in (*PREDICATES.values(), *GUIDANCE.values()):
        banks += bank
    for en, es in banks:
        for text in (en, es):
            for word in text.lower().replace(",", " ").replace(".", " ").replace("'", " ").split():
                if len(word) >= 4 and word.isalpha():
                    words.add(word)
    return sorted(words)


# ------------------------------------------------------------------------------- records


def _pick_settings(rng: random.Random, category: str) -> list[str]:
    count = rng.choices([0, 1, 2, 3, 4], [5, 30, 35, 22, 8])[0]
    pool = SETTINGS
    if category == "minor":
        pool = ["school_campus", "online", "hotel", "transit", "commercial_venue", "retail"]
    return sorted(rng.sample(pool, min(count, len(pool))))


def make_indicator(rng: random.Random, number: int, earlier: list[str]) -> dict[str, Any]:
    """One synthetic indicator in the multilingual form that the schemas validate."""
    category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
    subject = rng.choice(SUBJECTS[:2] if category == "minor" else SUBJECTS)
    predicate = rng.choice(PREDICATES[category])
    settings = _pick_settings(rng, category)
    en = [subject[0], predicate[0]]
    es = [subject[1], predicate[1]]
    if settings and rng.random() < 0.6:
        place = PLACES[rng.choice(settings)]
        en.append(place[0])
        es.append(place[1])
    if rng.random() < 0.7:
        detail = rng.choices(DETAILS, DETAIL_WEIGHTS)[0]
        if len(en) == 2 or not detail[0].startswith(LOCATIVE):  # one place per statement
            en.append(detail[0])
            es.append(detail[1])
    statement = {"en": " ".join(en) + ".", "es": " ".join(es) + "."}
    kinds = rng.choices([["sex"], ["labor"], ["labor", "sex"], []], [30, 30, 35, 5])[0]
    if category == "minor" and "sex" not in kinds:
        kinds = sorted([*kinds, "sex"])
    # NIBRS codes are derived from the trafficking types now; the draws that once picked them
    # stay, so the rest of the data set is what it was.
    if "sex" in kinds and rng.random() < 0.6:
        rng.sample(NIBRS_SEX, rng.choice([1, 1, 2]))
    if "labor" in kinds:
        rng.random()
    content: dict[str, Any] = {
        "id": f"syn-{number:06d}-{category.replace('_', '-')}",
        "statement": statement,
        "category": category,
        "trafficking_types": kinds,
        "settings": settings,
        "verified_on": (date(2026, 11, 1) - timedelta(days=rng.randrange(HISTORY_DAYS)))
        .isoformat(),
        "sources": [{"url": url, "title": title}
                    for url, title in rng.sample(SOURCES, rng.choice([1, 1, 1, 2, 3]))],
        "related": sorted(set(rng.sample(earlier[-500:], min(len(earlier), rng.choice(
            [0, 0, 0, 1, 2, 3]))))) if earlier else [],
    }
    if rng.random() < 0.85:
        sentences = rng.sample(GUIDANCE[category], rng.choice([1, 2]))
        sentences += rng.sample(GENERAL_GUIDANCE, rng.choice([0, 1, 1, 2]))
        content["guidance"] = {"en": " ".join(s[0] for s in sentences),
                               "es": " ".join(s[1] for s in sentences)}
    if rng.random() < 0.12:  # English only, as untranslated content is
        content["statement"].pop("es")
        if "guidance" in content:
            content["guidance"].pop("es")
    if rng.random() < 0.06:
        content["visibility"] = "law_enforcement"
    if rng.random() < 0.01:
        content["status"] = "draft"
    return content


# -------------------------------------------------------------------------------- the cache


def fingerprint() -> str:
    """Hash of what decides the database's content: this file, the seed, the record schemas and
    the code that writes and renders records (a database written by other code would hold
    other content, or renditions its reads render again).

    Python files are hashed by their syntax tree without docstrings, so reformatting or
    rewording a comment keeps the cache; any change to the code makes a new database. New
    migrations do not: a cached database is brought to the head revision when it is used, as a
    deployed one would be."""
    digest = hashlib.sha256()
    paths = [Path(__file__).resolve(), *sorted((ROOT / "seed").glob("*.json")),
             *sorted((ROOT / "schemas").rglob("*.py")),
             ROOT / "api" / "storage" / "publish.py", ROOT / "api" / "storage" / "renditions.py"]
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(_code(path) if path.suffix == ".py" else path.read_bytes())
    return digest.hexdigest()[:12]


def _code(path: Path) -> bytes:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            body[0] = ast.Pass()
    return ast.dump(tree).encode()


def db_path(total: int) -> Path:
    return CACHE / f"indicators-{total}-{fingerprint()}.sqlite"


def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def generate(total: int, force: bool = False, log: Any = print) -> Path:
    """The cached database with ``total`` indicators (seed included), made if missing."""
    path = db_path(total)
    if path.exists() and meta_path(path).exists() and not force:
        from api.storage.db import upgrade

        upgrade(f"sqlite:///{path}")
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"indicators-{total}-*.sqlite*"):
        old.unlink()
    for old in CACHE.glob(f"indicators-{total}-*.json"):
        old.unlink()
    tmp = path.with_name(path.name + ".tmp")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    stats = _build(tmp, total, log)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    tmp.rename(path)
    meta_path(path).write_text(json.dumps(stats, indent=1))
    log(f"generate: {total} indicators in {stats['seconds']} s -> {path.name}")
    return path


def _produce(wanted: int, seed: int, queue: Any) -> None:
    """In a child process (the second core): make and validate the contents, in chunks.

    Puts lists of (content, revise) and then None; deterministic for a given seed."""
    from schemas.records import load_content

    rng = random.Random(seed)
    # Ids are numbered in a shuffled order so that id order is not creation order.
    numbers = list(range(1, wanted + 1))
    rng.shuffle(numbers)
    earlier: list[str] = []
    chunk: list[tuple[dict[str, Any], bool]] = []
    for number in numbers:
        content = load_content("indicator", make_indicator(rng, number, earlier))
        earlier.append(content["id"])
        revise = content.get("status", "published") == "published" and rng.random() < 0.05
        chunk.append((content, revise))
        if len(chunk) == 500:
            queue.put(chunk)
            chunk = []
    queue.put(chunk)
    queue.put(None)


def _build(path: Path, total: int, log: Any) -> dict[str, Any]:
    import multiprocessing

    seeded = len(json.loads((ROOT / "seed" / "indicators.json").read_text())["records"])
    wanted = max(0, total - seeded)
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=20)
    producer = context.Process(target=_produce, args=(wanted, total, queue), daemon=True)
    producer.start()
    try:
        return _write(path, total, wanted, queue, log)
    finally:
        producer.kill()
        producer.join()


def _write(path: Path, total: int, wanted: int, queue: Any, log: Any) -> dict[str, Any]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from api.storage import db, store
    from api.storage.models import Record
    from schemas.records import load_content
    from seed.loader import load_seed

    url = f"sqlite:///{path}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            load_seed(session, ROOT / "seed")
            seeded = session.scalar(select(func.count()).select_from(Record)
                                    .where(Record.type == "indicator")) or 0
        assert seeded + wanted == total or wanted == 0, (seeded, wanted, total)
        start = SEED_DATE - timedelta(days=HISTORY_DAYS)
        step = timedelta(days=HISTORY_DAYS) / max(1, wanted)
        revisable: list[dict[str, Any]] = []
        written = 0
        began = time.perf_counter()
        session = Session(engine)
        try:
            while (chunk := queue.get(timeout=600)) is not None:
                for content, revise in chunk:
                    now = (start + step * written).replace(microsecond=0)
                    publish.save(session, "indicator", content, actor="bench", action="create",
                               now=now)
                    # The transaction stays open; forgetting the written objects keeps the
                    # ORM's per-statement bookkeeping from growing with the batch (quadratic).
                    session.flush()
                    session.expunge_all()
                    if revise:
                        revisable.append(content)
                    written += 1
                    if written % BATCH == 0:
                        session.commit()
                        rate = written / (time.perf_counter() - began)
                        log(f"generate: {written}/{wanted} indicators ({rate:.0f}/s)")
            # Later edits: a second version for most of the picked records, retirement for some.
            for n, content in enumerate(revisable):
                now = (SEED_DATE - timedelta(hours=len(revisable) - n)).replace(microsecond=0)
                if n % 5 == 0:
                    changed = {**content, "status": "retired"}
                else:
                    changed = {**content, "verified_on": "2026-10-30",
                               "statement": {**content["statement"],
                                             "en": content["statement"]["en"][:-1]
                                             + ", as noted again on a later visit."}}
                publish.save(session, "indicator", load_content("indicator", changed),
                           actor="bench", action="update", now=now)
                session.flush()
                session.expunge_all()
            session.commit()
        finally:
            session.close()
        with Session(engine) as session:
            counts = dict(session.execute(select(Record.status, func.count())
                                          .where(Record.type == "indicator")
                                          .group_by(Record.status)).all())
            head = store.state(session)[0]
    finally:
        engine.dispose()
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return {"total": total, "synthetic": wanted, "seed_indicators": seeded,
            "revised": len(revisable), "by_status": counts, "head": head,
            "fingerprint": fingerprint(), "rate_per_s": round(wanted / max(
                1e-9, time.perf_counter() - began))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("total", type=int, nargs="+", help="indicators in all (seed included)")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args()
    for total in args.total:
        print(generate(total, force=args.force))


if __name__ == "__main__":
    main()
