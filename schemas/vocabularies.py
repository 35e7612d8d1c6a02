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
        ("first_responder", "First responders", "Primeros intervinientes"),
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
        ("traffic_stop", "Traffic stop", "Control de tráfico"),
        ("domestic_disturbance", "Domestic disturbance", "Disturbio doméstico"),
        (
            "commercial_venue",
            "Massage parlor, bar or strip club",
            "Salón de masajes, bar o club nocturno",
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
            "Human trafficking, commercial sex acts",
            "Trata de personas, actos sexuales comerciales",
        ),
        (
            "64B",
            "Human trafficking, involuntary servitude",
            "Trata de personas, servidumbre involuntaria",
        ),
        ("40A", "Prostitution", "Prostitución"),
        ("40B", "Assisting or promoting prostitution", "Asistir o promover la prostitución"),
        ("40C", "Purchasing prostitution", "Compra de prostitución"),
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
    ),
    "channel_kind": _terms(
        ("voice", "Phone", "Teléfono"),
        ("text", "Text message", "Mensaje de texto"),
        ("tty", "TTY", "TTY"),
        ("email", "Email", "Correo electrónico"),
        ("web", "Web form", "Formulario web"),
        ("chat", "Chat", "Chat"),
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


def codes(vocabulary: str) -> list[str]:
    """The codes of one vocabulary, in their published order."""
    return [term.code for term in VOCABULARIES[vocabulary]]
