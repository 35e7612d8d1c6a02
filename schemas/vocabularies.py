"""The one table of controlled vocabularies.

Schemas validate against it, list filters accept its codes, ``/api/v1/vocabularies`` publishes it
and ``openapi.yaml`` enumerates it. Every code carries an English and a Spanish label.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    code: str
    en: str
    es: str


def _terms(*rows: tuple[str, str, str]) -> tuple[Term, ...]:
    return tuple(Term(*row) for row in rows)


VOCABULARIES: dict[str, tuple[Term, ...]] = {
    "resource_kind": _terms(
        ("guide", "Guide", "Guía"),
        ("training", "Training", "Capacitación"),
        ("pocket_card", "Pocket card", "Tarjeta de bolsillo"),
        ("toolkit", "Toolkit", "Conjunto de herramientas"),
        ("brochure", "Brochure", "Folleto"),
        ("video", "Video", "Video"),
        ("webinar", "Webinar", "Seminario web"),
        ("course", "Course", "Curso"),
        ("info_sheet", "Information sheet", "Hoja informativa"),
    ),
    "audience": _terms(
        ("campus_law_enforcement", "Campus law enforcement", "Policía universitaria"),
        ("school_resource_officer", "School resource officers", "Agentes de recursos escolares"),
        ("federal_law_enforcement", "Federal law enforcement", "Fuerzas del orden federales"),
        (
            "state_local_law_enforcement",
            "State and local law enforcement",
            "Fuerzas del orden estatales y locales",
        ),
        ("tribal_law_enforcement", "Tribal law enforcement", "Fuerzas del orden tribales"),
        ("prosecutor", "Prosecutors", "Fiscales"),
        ("first_responder", "First responders", "Personal de primera respuesta"),
        (
            "dispatcher",
            "Dispatchers and call-takers",
            "Despachadores y operadores de llamadas de emergencia",
        ),
        (
            "victim_service_provider",
            "Victim service providers",
            "Proveedores de servicios a víctimas",
        ),
        ("public", "General public", "Público en general"),
    ),
    "topic": _terms(
        ("indicators", "Indicators", "Indicadores"),
        ("victim_centered_approach", "Victim-centered approach", "Enfoque centrado en la víctima"),
        ("immigration_relief", "Immigration relief", "Alivio migratorio"),
        ("interviewing", "Interviewing victims", "Entrevista a víctimas"),
        ("trauma", "Trauma", "Trauma"),
        ("campus", "Colleges and universities", "Universidades"),
        ("schools", "Schools (K-12)", "Escuelas"),
        ("tribal_communities", "Tribal communities", "Comunidades tribales"),
        ("labor_trafficking", "Labor trafficking", "Trata laboral"),
        ("sex_trafficking", "Sex trafficking", "Trata sexual"),
        ("reporting", "Reporting", "Denuncia"),
        ("hospitality", "Hospitality and gaming", "Hotelería y juegos de azar"),
    ),
    "resource_format": _terms(
        ("pdf", "PDF", "PDF"),
        ("web", "Web page", "Página web"),
        ("video", "Video", "Video"),
        ("print", "Printed copy", "Copia impresa"),
        ("online_course", "Online course", "Curso en línea"),
    ),
    "indicator_category": _terms(
        ("behavioral", "Behavioral", "Conductual"),
        ("physical", "Physical", "Físico"),
        ("control", "Control", "Control"),
        ("communication", "Communication", "Comunicación"),
        ("documentation", "Documentation", "Documentación"),
        ("financial", "Financial", "Financiero"),
        ("living_conditions", "Living conditions", "Condiciones de vida"),
        ("work_conditions", "Work conditions", "Condiciones de trabajo"),
        ("travel", "Travel", "Viaje"),
        ("minor", "Minors", "Menores de edad"),
    ),
    "trafficking_type": _terms(
        ("sex", "Sex trafficking", "Trata con fines de explotación sexual"),
        ("labor", "Labor trafficking", "Trata con fines de explotación laboral"),
    ),
    "setting": _terms(
        ("traffic_stop", "Traffic stop", "Detención de tráfico"),
        ("domestic_disturbance", "Domestic disturbance", "Altercado doméstico"),
        (
            "commercial_venue",
            "Massage parlor, bar or strip club",
            "Salón de masajes, bar o club de striptease",
        ),
        ("hotel", "Hotel or motel", "Hotel o motel"),
        ("worksite", "Worksite", "Lugar de trabajo"),
        ("school_campus", "School or campus", "Escuela o campus"),
        ("transit", "Transit hub", "Terminal de transporte"),
        ("retail", "Retail or bank", "Comercio o banco"),
        ("online", "Online", "En línea"),
    ),
    "nibrs_offense": _terms(
        (
            "64A",
            "Related offense code 64A: human trafficking, commercial sex acts",
            "Código de delito relacionado 64A: trata de personas, actos sexuales comerciales",
        ),
        (
            "64B",
            "Related offense code 64B: human trafficking, involuntary servitude",
            "Código de delito relacionado 64B: trata de personas, servidumbre involuntaria",
        ),
    ),
    "requested_by": _terms(
        ("law_enforcement", "Law enforcement", "Fuerzas del orden"),
        ("victim", "The victim", "La víctima"),
    ),
    "hotline_purpose": _terms(
        ("report_tip", "Report a tip", "Denunciar"),
        ("victim_help", "Help for victims", "Ayuda para víctimas"),
        ("policy_questions", "Policy questions", "Preguntas sobre políticas"),
        ("program_contact", "Program contact", "Contacto del programa"),
        ("emergency", "Emergency", "Emergencia"),
        (
            "workplace_complaint",
            "File a workplace complaint",
            "Presentar una queja laboral",
        ),
    ),
    "channel_kind": _terms(
        ("voice", "Phone", "Teléfono"),
        ("text", "Text message", "Mensaje de texto"),
        ("tty", "TTY", "TTY"),
        ("email", "Email", "Correo electrónico"),
        ("web", "Web form", "Formulario web"),
        ("chat", "Chat", "Chat"),
        ("video", "Video phone", "Videoteléfono"),
    ),
    "verification_status": _terms(
        ("verified", "Verified", "Verificado"),
        ("unverified", "Not verified", "Sin verificar"),
        ("disputed", "Disputed: sources disagree", "En disputa: las fuentes no coinciden"),
    ),
    "status": _terms(
        ("draft", "Draft", "Borrador"),
        ("published", "Published", "Publicado"),
        ("retired", "Retired", "Retirado"),
    ),
    "visibility": _terms(
        ("public", "Public", "Público"),
        ("law_enforcement", "Law enforcement only", "Solo fuerzas del orden"),
    ),
}


#: What each vocabulary is for, in English and Spanish (published with its terms).
DESCRIPTIONS: dict[str, Term] = {
    name: Term(name, en, es) for name, en, es in (
        ("resource_kind", "What kind of material a resource is.",
         "Qué tipo de material es un recurso."),
        ("audience", "Who a resource or hotline serves.", "A quién sirve un recurso o una línea."),
        ("topic", "What a resource is about.", "De qué trata un recurso."),
        ("resource_format", "How a resource is delivered.", "Cómo se ofrece un recurso."),
        ("indicator_category", "What kind of sign an indicator is.",
         "Qué tipo de señal es un indicador."),
        ("trafficking_type", "The form of trafficking an indicator can point to.",
         "La forma de trata a la que puede apuntar un indicador."),
        ("setting", "Where an officer or call-taker may meet an indicator (this project's own "
                    "mapping; DHS does not tag indicators by setting).",
         "Dónde un agente o un operador puede encontrar un indicador (clasificación propia de "
         "este proyecto; el DHS no clasifica los indicadores por entorno)."),
        ("nibrs_offense", "NIBRS offense codes related to the trafficking types an indicator can "
                          "point to (sex: 64A, labor: 64B), for reference only. They are not a "
                          "coding decision: code an incident from its facts, by your agency's "
                          "NIBRS rules.",
         "Códigos de delito del NIBRS relacionados con los tipos de trata a los que puede apuntar "
         "un indicador (sexual: 64A, laboral: 64B), solo como referencia. No son una decisión de "
         "codificación: codifique cada incidente según sus hechos y las reglas del NIBRS de su "
         "agencia."),
        ("requested_by", "Who asks for an immigration relief option.",
         "Quién solicita una opción de alivio migratorio."),
        ("hotline_purpose", "What a hotline is for.", "Para qué sirve una línea."),
        ("channel_kind", "How to reach a hotline.", "Cómo comunicarse con una línea."),
        ("verification_status", "Whether an editor has checked a record against its sources, "
                                "and whether those sources agree.",
         "Si un editor comprobó un registro con sus fuentes y si esas fuentes coinciden."),
        ("status", "Where a record is in its life: draft, published or retired.",
         "En qué etapa está un registro: borrador, publicado o retirado."),
        ("visibility", "Who may read a record.", "Quién puede leer un registro."),
    )
}


def codes(vocabulary: str) -> list[str]:
    """The codes of one vocabulary, in their published order."""
    return [term.code for term in VOCABULARIES[vocabulary]]
