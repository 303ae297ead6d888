"""R13: Certificateurs' deposit files, read and checked the way the portal does it (sniff, then
records, then check) — the examples of the README, every refusal of « What it must withstand »
that concerns the file's content, and the record rules one by one."""

from __future__ import annotations

import codecs
import http.server
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from portals.certificateurs.deposits.checks import Rejection, check
from portals.certificateurs.deposits.formats import (
    FIELDS,
    FileRefused,
    Format,
    Record,
    records,
    sniff,
)

EXAMPLES = Path(__file__).parents[2] / "examples" / "deposits"
TODAY = date(2026, 6, 1)
HEADER = ";".join(FIELDS)
VALID_LINE = "RNCP34567;CAND-0001;Dupont;Jean;12/03/1990;28/06/2024;admis"
DOCTYPE_FORBIDDEN = (
    "Le fichier XML contient une déclaration de type de document (DOCTYPE), interdite."
)
NOT_A_VALUE = "n'est pas une valeur admise : « admis », « admis partiellement », « ajourné »."
CODE_FORM = (
    "n'a pas la forme attendue : RNCP suivi de chiffres (par exemple RNCP34567) ou RS suivi de "
    "chiffres (par exemple RS5678)."
)
NAME_LETTERS = (
    "ne doit contenir que des lettres, des espaces, des traits d'union et des apostrophes."
)


def deposit(path: Path, name: str | None = None) -> list[tuple[str, str, str]]:
    """What the accusé de traitement lists: (location, field, reason) of every rejection."""
    fmt = sniff(path.read_bytes()[:8192], name or path.name)
    return [
        (rejection.location, rejection.field, rejection.reason)
        for _, rejections in check(records(path, fmt), today=TODAY)
        for rejection in rejections
    ]


def refusal(path: Path, name: str | None = None) -> str:
    with pytest.raises(FileRefused) as refused:
        deposit(path, name)
    return refused.value.message


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def xml(*records_xml: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<depot>\n'
        + "\n".join(records_xml)
        + "\n</depot>\n"
    )


def xml_record(nom: str = "Dupont") -> str:
    return (
        "<enregistrement><code_certification>RNCP34567</code_certification>"
        f"<nom>{nom}</nom><prenom>Jean</prenom><date_naissance>1990-03-12</date_naissance>"
        "<date_obtention>2024-06-28</date_obtention><resultat>admis</resultat></enregistrement>"
    )


# --- The examples of the README ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["valide.csv", "valide.xml"])
def test_r13_the_valid_examples_are_accepted_whole(name):
    path = EXAMPLES / name
    results = list(check(records(path, sniff(path.read_bytes(), name)), today=TODAY))

    assert len(results) == 5
    assert all(rejections == [] for _, rejections in results)


def test_r13_the_csv_example_with_errors_names_each_line_field_and_reason():
    long_name = "A" * 101
    assert long_name in (EXAMPLES / "erreurs.csv").read_text()

    assert deposit(EXAMPLES / "erreurs.csv") == [
        ("ligne 2", "code_certification", f"Le code de certification « RNCP-345 » {CODE_FORM}"),
        (
            "ligne 3",
            "numero_candidat",
            "Le numéro de candidat « CAND 0002 » ne doit contenir que des lettres sans accent, "
            "des chiffres et les caractères . _ / -.",
        ),
        ("ligne 4", "nom", f"Le nom « Dup0nt » {NAME_LETTERS}"),
        ("ligne 5", "prenom", "Le prénom est obligatoire."),
        (
            "ligne 6",
            "date_naissance",
            "La date de naissance « 1990/03/12 » doit être écrite JJ/MM/AAAA ou AAAA-MM-JJ.",
        ),
        ("ligne 7", "date_naissance", "La date de naissance 31/02/1990 n'existe pas."),
        ("ligne 8", "date_naissance", "La date de naissance 01/01/2099 n'est pas dans le passé."),
        (
            "ligne 9",
            "date_naissance",
            "La date de naissance 01/01/1890 n'est pas plausible (plus de 120 ans).",
        ),
        ("ligne 10", "date_obtention", "La date d'obtention 01/01/2099 est dans le futur."),
        (
            "ligne 11",
            "date_obtention",
            "La date d'obtention 28/06/2024 est moins de 14 ans après la date de naissance.",
        ),
        ("ligne 12", "resultat", f"Le résultat « reçu » {NOT_A_VALUE}"),
        ("ligne 13", "enregistrement", "La ligne compte 6 colonnes au lieu de 7."),
        (
            "ligne 15",
            "enregistrement",
            "Doublon de la ligne 14 : même candidat (nom, prénom, date de naissance) et même "
            "certification.",
        ),
        ("ligne 16", "nom", "Le nom dépasse 100 caractères."),
        ("ligne 17", "code_certification", f"Le code de certification « RS12X » {CODE_FORM}"),
        ("ligne 17", "prenom", "Le prénom est obligatoire."),
        ("ligne 17", "date_naissance", "La date de naissance 30/02/2001 n'existe pas."),
        ("ligne 17", "resultat", f"Le résultat « validé » {NOT_A_VALUE}"),
    ]


def test_r13_the_xml_example_with_errors_names_each_record_its_line_field_and_reason():
    assert deposit(EXAMPLES / "erreurs.xml") == [
        (
            "enregistrement 1 (ligne 4)",
            "code_certification",
            f"Le code de certification « RNCP-345 » {CODE_FORM}",
        ),
        (
            "enregistrement 2 (ligne 13)",
            "numero_candidat",
            "Le numéro de candidat « CAND 0002 » ne doit contenir que des lettres sans accent, "
            "des chiffres et les caractères . _ / -.",
        ),
        ("enregistrement 3 (ligne 22)", "nom", f"Le nom « Dup0nt » {NAME_LETTERS}"),
        ("enregistrement 4 (ligne 31)", "prenom", "Le prénom est obligatoire."),
        (
            "enregistrement 5 (ligne 40)",
            "date_naissance",
            "La date de naissance « 12.03.1990 » doit être écrite JJ/MM/AAAA ou AAAA-MM-JJ.",
        ),
        (
            "enregistrement 6 (ligne 49)",
            "date_naissance",
            "La date de naissance 1990-02-31 n'existe pas.",
        ),
        (
            "enregistrement 7 (ligne 58)",
            "date_naissance",
            "La date de naissance 2099-01-01 n'est pas dans le passé.",
        ),
        (
            "enregistrement 8 (ligne 67)",
            "date_naissance",
            "La date de naissance 1890-01-01 n'est pas plausible (plus de 120 ans).",
        ),
        (
            "enregistrement 9 (ligne 76)",
            "date_obtention",
            "La date d'obtention 2099-01-01 est dans le futur.",
        ),
        (
            "enregistrement 10 (ligne 85)",
            "date_obtention",
            "La date d'obtention 2024-06-28 est moins de 14 ans après la date de naissance.",
        ),
        ("enregistrement 11 (ligne 94)", "resultat", f"Le résultat « reçu » {NOT_A_VALUE}"),
        (
            "enregistrement 13 (ligne 112)",
            "enregistrement",
            "Doublon de l'enregistrement 12 (ligne 103) : même candidat (nom, prénom, date de "
            "naissance) et même certification.",
        ),
        ("enregistrement 14 (ligne 120)", "enregistrement", "Champ absent : <prenom>."),
        (
            "enregistrement 15 (ligne 127)",
            "enregistrement",
            "L'élément <mention> n'est pas un champ d'enregistrement.",
        ),
        (
            "enregistrement 16 (ligne 136)",
            "enregistrement",
            "Les champs ne sont pas dans l'ordre attendu : code_certification, numero_candidat, "
            "nom, prenom, date_naissance, date_obtention, resultat.",
        ),
        (
            "enregistrement 17 (ligne 144)",
            "enregistrement",
            "L'élément <enregistrement> ne prend pas d'attribut (trouvé : id).",
        ),
        (
            "enregistrement 18 (ligne 153)",
            "enregistrement",
            "L'élément <candidat> n'est pas attendu ici : un dépôt ne contient que des éléments "
            "<enregistrement>.",
        ),
    ]


def test_r13_the_example_with_a_comma_separated_header_is_refused_with_the_expected_header():
    assert refusal(EXAMPLES / "erreurs-entete.csv") == (
        "La première ligne du fichier (l'en-tête) ne correspond pas au format attendu. "
        f"Attendu : « {HEADER} ». Trouvé : « {HEADER.replace(';', ',')} ». "
        "Le séparateur des colonnes doit être le point-virgule (;)."
    )


def test_r13_the_example_not_well_formed_is_refused_with_its_line():
    message = refusal(EXAMPLES / "erreurs-structure.xml")

    assert message.startswith("Le fichier XML est mal formé à la ligne 8 : vérifiez que")


def test_r13_the_entity_bomb_example_is_refused_for_its_doctype():
    assert refusal(EXAMPLES / "entites.xml") == DOCTYPE_FORBIDDEN


# --- A file that is not what its name says, an empty file -------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "resultats.csv",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            "Le fichier porte l'extension .csv mais son contenu est un document PDF : "
            "déposez un fichier CSV.",
        ),
        (
            "resultats.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "Le fichier porte l'extension .csv mais son contenu est une archive ZIP (un classeur "
            "Excel ou un document Office en est une) : déposez un fichier CSV.",
        ),
        (
            "resultats.xml",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "Le fichier porte l'extension .xml mais son contenu est une image PNG : "
            "déposez un fichier XML.",
        ),
        (
            "resultats.csv",
            b"\x00\x01\x02binary\x00",
            "Le fichier porte l'extension .csv mais son contenu est binaire (ce n'est pas du "
            "texte) : déposez un fichier CSV.",
        ),
        (
            "resultats.csv",
            codecs.BOM_UTF16_LE + HEADER.encode("utf-16-le"),
            "Le fichier porte l'extension .csv mais son contenu est du texte en UTF-16 "
            "(enregistrez le fichier en UTF-8) : déposez un fichier CSV.",
        ),
        (
            "resultats.csv",
            xml(xml_record()).encode(),
            "Le fichier porte l'extension .csv mais son contenu est du XML : renommez-le en "
            ".xml ou déposez un fichier CSV.",
        ),
        (
            "resultats.xml",
            f"{HEADER}\n{VALID_LINE}\n".encode(),
            "Le fichier porte l'extension .xml mais son contenu n'est pas du XML (il ne "
            "commence pas par « < ») : renommez-le en .csv s'il s'agit d'un CSV.",
        ),
        (
            "resultats.txt",
            f"{HEADER}\n{VALID_LINE}\n".encode(),
            "Le fichier doit porter l'extension .csv ou .xml : déposez un fichier CSV ou XML.",
        ),
        (
            "resultats",
            f"{HEADER}\n".encode(),
            "Le fichier doit porter l'extension .csv ou .xml : déposez un fichier CSV ou XML.",
        ),
    ],
)
def test_r13_a_file_that_is_not_what_its_name_says_is_refused(name, content, message):
    with pytest.raises(FileRefused) as refused:
        sniff(content, name)

    assert refused.value.message == message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("RESULTATS.CSV", f"{HEADER}\n".encode(), Format.CSV),
        ("résultats 2026.Xml", xml(xml_record()).encode(), Format.XML),
        ("bom.csv", codecs.BOM_UTF8 + f"{HEADER}\n".encode(), Format.CSV),
        ("bom.xml", codecs.BOM_UTF8 + b"\n<depot/>", Format.XML),
    ],
)
def test_r13_the_extension_is_read_without_regard_to_case_and_a_bom_is_allowed(
    name, content, expected
):
    assert sniff(content, name) is expected


@pytest.mark.parametrize("content", [b"", codecs.BOM_UTF8, b"  \r\n\t\n"])
@pytest.mark.parametrize("name", ["vide.csv", "vide.xml"])
def test_r13_an_empty_file_is_refused(name, content):
    with pytest.raises(FileRefused) as refused:
        sniff(content, name)

    assert refused.value.message == "Le fichier est vide."


def test_r13_an_empty_file_read_without_sniffing_first_is_refused_as_empty(tmp_path):
    assert refusal_of_records(write(tmp_path, "vide.csv", b""), Format.CSV) == (
        "Le fichier est vide."
    )


def refusal_of_records(path: Path, fmt: Format) -> str:
    with pytest.raises(FileRefused) as refused:
        list(records(path, fmt))
    return refused.value.message


# --- CSV: encoding, header, lines -------------------------------------------------------------


def test_r13_a_csv_not_in_utf8_is_refused_naming_its_first_bad_line(tmp_path):
    content = f"{HEADER}\n{VALID_LINE}\n".encode() + "RS5678;;Lefèvre;Zoé;".encode("latin-1")
    path = write(tmp_path, "latin1.csv", content + b"01/02/1990;28/06/2024;admis\n")

    assert refusal(path) == (
        "La ligne 3 n'est pas encodée en UTF-8 : enregistrez le fichier en UTF-8 (« CSV UTF-8 » "
        "dans un tableur) et déposez-le à nouveau."
    )


def test_r13_a_csv_with_a_bom_and_windows_line_ends_is_read_like_any_other(tmp_path):
    content = codecs.BOM_UTF8 + f"{HEADER}\r\n{VALID_LINE}\r\n".encode()
    path = write(tmp_path, "excel.csv", content)

    [record] = records(path, Format.CSV)

    assert record == Record(
        "ligne 2",
        {
            "code_certification": "RNCP34567",
            "numero_candidat": "CAND-0001",
            "nom": "Dupont",
            "prenom": "Jean",
            "date_naissance": "12/03/1990",
            "date_obtention": "28/06/2024",
            "resultat": "admis",
        },
    )


def test_r13_a_csv_with_the_wrong_header_is_refused_with_expected_and_found(tmp_path):
    path = write(tmp_path, "entete.csv", f"code;nom;prenom\n{VALID_LINE}\n")

    assert refusal(path) == (
        "La première ligne du fichier (l'en-tête) ne correspond pas au format attendu. "
        f"Attendu : « {HEADER} ». Trouvé : « code;nom;prenom »."
    )


def test_r13_a_csv_with_only_its_header_is_refused(tmp_path):
    path = write(tmp_path, "entete-seul.csv", f"{HEADER}\n\n")

    assert refusal(path) == "Le fichier ne contient aucun enregistrement après l'en-tête."


def test_r13_quoted_values_may_hold_the_separator_and_blank_lines_are_skipped(tmp_path):
    content = f'{HEADER}\n\n"RNCP34567";"";" Dupont ";"Jean";12/03/1990;28/06/2024;"admis"\n'
    path = write(tmp_path, "guillemets.csv", content)
    with_separator = write(
        tmp_path,
        "separateur.csv",
        f'{HEADER}\nRNCP34567;;"Du;pont";Jean;12/03/1990;28/06/2024;admis\n',
    )

    assert deposit(path) == []
    assert [r.location for r in records(path, Format.CSV)] == ["ligne 3"]
    assert deposit(with_separator) == [("ligne 2", "nom", f"Le nom « Du;pont » {NAME_LETTERS}")]


def test_r13_a_line_with_too_many_columns_is_rejected_not_the_file(tmp_path):
    path = write(tmp_path, "colonnes.csv", f"{HEADER}\n{VALID_LINE};en trop\n{VALID_LINE}\n")

    assert deposit(path) == [
        ("ligne 2", "enregistrement", "La ligne compte 8 colonnes au lieu de 7.")
    ]


def test_r13_an_unclosed_quote_refuses_the_file_at_its_line(tmp_path):
    path = write(tmp_path, "guillemet.csv", f'{HEADER}\n{VALID_LINE}\nRS5678;"x;y\n')

    assert refusal(path) == (
        "Le fichier CSV ne peut pas être lu à la ligne 3 : vérifiez les guillemets de cette "
        "ligne (un guillemet ouvert doit être refermé)."
    )


def test_r13_a_csv_without_line_breaks_is_refused_without_reading_it_whole(tmp_path):
    path = write(tmp_path, "une-ligne.csv", f"{HEADER}\n" + "x;" * 100_000)

    assert refusal(path) == (
        "La ligne 2 dépasse 64 Ko : ce n'est pas une ligne d'un fichier de dépôt."
    )


# --- XML: well-formedness, DOCTYPE, external entities, bombs ----------------------------------


def test_r13_xml_not_well_formed_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "mal-forme.xml", xml(xml_record(), xml_record("Dupont & Fils")))

    message = refusal(path)

    assert message.startswith("Le fichier XML est mal formé à la ligne 4 : ")
    assert "&amp;" in message


def test_r13_xml_not_in_its_declared_encoding_is_refused_with_its_line(tmp_path):
    content = xml(xml_record(), xml_record("Lefèvre")).encode("latin-1")
    path = write(tmp_path, "latin1.xml", content)

    assert refusal(path).startswith(
        "Le fichier XML n'est pas lisible à la ligne 4 : son contenu n'est pas dans "
        "l'encodage déclaré (UTF-8 par défaut)."
    )


def test_r13_xml_with_another_root_or_no_record_is_refused(tmp_path):
    other_root = write(tmp_path, "racine.xml", '<?xml version="1.0"?>\n<resultats/>\n')
    no_record = write(tmp_path, "vide.xml", '<?xml version="1.0"?>\n<depot>\n</depot>\n')

    assert refusal(other_root) == (
        "L'élément racine du fichier XML doit être <depot> ; trouvé : <resultats>."
    )
    assert refusal(no_record) == "Le fichier XML ne contient aucun élément <enregistrement>."


def test_r13_xml_escapes_and_optional_fields_are_read_as_the_depositor_meant(tmp_path):
    path = write(tmp_path, "echappements.xml", xml(xml_record("N&#8217;Diaye")))

    [record] = records(path, Format.XML)

    assert record.fields["nom"] == "N’Diaye"
    assert record.fields["numero_candidat"] == ""
    assert record.location == "enregistrement 1 (ligne 3)"


@pytest.fixture
def http_listener() -> Iterator[tuple[str, list[str]]]:
    """A web server on loopback that notes every request: an XXE must never reach it."""
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "fetched">')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()
    server.server_close()


def test_r13_an_external_entity_reading_a_file_is_refused_and_nothing_is_read(tmp_path):
    prolog = '<!DOCTYPE depot [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    path = write(tmp_path, "xxe-fichier.xml", xml(xml_record("&xxe;"), prolog=prolog))

    message = refusal(path)

    assert message == DOCTYPE_FORBIDDEN
    assert "root" not in message


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE depot [<!ENTITY xxe SYSTEM "{url}/entity">]>\n',
        '<!DOCTYPE depot SYSTEM "{url}/deposit.dtd">\n',
        '<!DOCTYPE depot [<!ENTITY % remote SYSTEM "{url}/parameter"> %remote;]>\n',
    ],
    ids=["general entity", "external DTD", "parameter entity"],
)
def test_r13_an_external_entity_on_the_network_is_refused_and_nothing_is_fetched(
    tmp_path, http_listener, prolog
):
    url, requested = http_listener
    name = "&xxe;" if "xxe" in prolog else "Dupont"
    path = write(tmp_path, "xxe-reseau.xml", xml(xml_record(name), prolog=prolog.format(url=url)))

    assert refusal(path) == DOCTYPE_FORBIDDEN
    assert requested == []


def test_r13_a_doctype_is_refused_even_after_comments_in_the_prolog(tmp_path):
    prolog = "<!-- <depot> -->\n<?traitement x?>\n<!DOCTYPE depot>\n"
    path = write(tmp_path, "doctype.xml", xml(xml_record(), prolog=prolog))

    assert refusal(path) == DOCTYPE_FORBIDDEN


def test_r13_an_entity_bomb_is_refused_quickly_in_bounded_memory():
    """In a fresh interpreter, so that its peak memory is the bomb's alone: a billion « lol »
    expanded would take gigabytes and minutes. The peak is compared with the one before
    reading (Linux keeps a forked child's peak across exec, so the test's own size may show)."""
    script = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from portals.certificateurs.deposits.formats import FileRefused, Format, records
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            list(records(Path({str(EXAMPLES / "entites.xml")!r}), Format.XML))
        except FileRefused as refused:
            print(refused.message)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    message, growth_mb = result.stdout.splitlines()

    assert message == DOCTYPE_FORBIDDEN
    assert int(growth_mb) < 50


# --- 100 000 records, streamed ----------------------------------------------------------------


def test_r13_a_csv_of_100000_records_streams_through_the_checks(tmp_path):
    path = tmp_path / "grand.csv"
    with path.open("w", encoding="utf-8") as file:
        file.write(HEADER + "\n")
        for number in range(100_000):
            file.write(f"RNCP{number};;Dupont;Jean;12/03/1990;28/06/2024;admis\n")

    results = check(records(path, sniff(path.read_bytes()[:8192], path.name)), today=TODAY)
    count = last = 0
    for record, rejections in results:
        assert rejections == []
        count, last = count + 1, record

    assert count == 100_000
    assert last.location == "ligne 100001"
    assert last.fields["code_certification"] == "RNCP99999"


def test_r13_an_xml_of_100000_records_streams_through_the_checks(tmp_path):
    path = tmp_path / "grand.xml"
    with path.open("w", encoding="utf-8") as file:
        file.write('<?xml version="1.0" encoding="UTF-8"?>\n<depot>\n')
        for number in range(100_000):
            file.write(xml_record().replace("RNCP34567", f"RNCP{number}") + "\n")
        file.write("</depot>\n")

    results = check(records(path, sniff(path.read_bytes()[:8192], path.name)), today=TODAY)
    count = last = 0
    for record, rejections in results:
        assert rejections == []
        count, last = count + 1, record

    assert count == 100_000
    assert last.location == "enregistrement 100000 (ligne 100002)"
    assert last.fields["code_certification"] == "RNCP99999"


# --- The record rules, one by one -------------------------------------------------------------

VALID = {
    "code_certification": "RNCP34567",
    "numero_candidat": "CAND-0001",
    "nom": "Dupont",
    "prenom": "Jean",
    "date_naissance": "12/03/1990",
    "date_obtention": "28/06/2024",
    "resultat": "admis",
}


def rejections_of(*changes: dict[str, str], today: date = TODAY) -> list[list[tuple[str, str]]]:
    """The (field, reason) rejections of records made of VALID with each set of `changes`."""
    made = [Record(f"ligne {n}", {**VALID, **change}) for n, change in enumerate(changes, 2)]
    return [
        [(rejection.field, rejection.reason) for rejection in rejections]
        for _, rejections in check(made, today=today)
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"code_certification": "RNCP1"},
        {"code_certification": "RS5678"},
        {"numero_candidat": ""},
        {"numero_candidat": "2024/A_12.b-3"},
        {"nom": "N'Diaye"},
        {"nom": "N’Diaye"},
        {"nom": "Le Gall-Évrard"},
        {"prenom": "Marie Ève"},
        {"nom": "Ñúñez"},
        {"nom": "A" * 100},
        {"date_naissance": "1990-03-12"},
        {"date_naissance": "29/02/2000"},
        {"resultat": "Admis Partiellement"},
        {"resultat": "ajourné"},
    ],
)
def test_r13_well_formed_values_are_accepted(change):
    assert rejections_of(change) == [[]]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"code_certification": "rncp34567"}, "code_certification", "« rncp34567 »"),
        ({"code_certification": "RNCP"}, "code_certification", "« RNCP »"),
        ({"code_certification": "RS 5678"}, "code_certification", "« RS 5678 »"),
        ({"code_certification": "RNCP1234567"}, "code_certification", "« RNCP1234567 »"),
        (
            {"code_certification": ""},
            "code_certification",
            "Le code de certification est obligatoire.",
        ),
        ({"numero_candidat": "N°12"}, "numero_candidat", "« N°12 »"),
        ({"numero_candidat": "A" * 51}, "numero_candidat", "dépasse 50 caractères"),
        ({"nom": ""}, "nom", "Le nom est obligatoire."),
        ({"nom": "Dupont2"}, "nom", f"Le nom « Dupont2 » {NAME_LETTERS}"),
        ({"nom": "-Dupont"}, "nom", NAME_LETTERS),
        ({"nom": "Dupont_Durand"}, "nom", NAME_LETTERS),
        ({"prenom": "Jean."}, "prenom", f"Le prénom « Jean. » {NAME_LETTERS}"),
        ({"prenom": "J" * 101}, "prenom", "Le prénom dépasse 100 caractères."),
        ({"date_naissance": ""}, "date_naissance", "La date de naissance est obligatoire."),
        ({"date_naissance": "12/3/1990"}, "date_naissance", "JJ/MM/AAAA ou AAAA-MM-JJ"),
        ({"date_naissance": "1990-13-01"}, "date_naissance", "1990-13-01 n'existe pas."),
        ({"date_naissance": "29/02/2001"}, "date_naissance", "29/02/2001 n'existe pas."),
        ({"date_naissance": "01/06/2026"}, "date_naissance", "n'est pas dans le passé."),
        ({"date_naissance": "31/05/1906"}, "date_naissance", "plus de 120 ans"),
        ({"date_obtention": "02/06/2026"}, "date_obtention", "02/06/2026 est dans le futur."),
        ({"date_obtention": "11/03/2004"}, "date_obtention", "moins de 14 ans après"),
        ({"resultat": ""}, "resultat", "Le résultat est obligatoire."),
        ({"resultat": "ajourne"}, "resultat", f"Le résultat « ajourne » {NOT_A_VALUE}"),
        ({"resultat": "refusé"}, "resultat", NOT_A_VALUE),
    ],
)
def test_r13_each_rule_rejects_its_field_with_a_french_reason(change, field, reason):
    [[(rejected, why)]] = rejections_of(change)

    assert rejected == field
    assert reason in why


def test_r13_dates_are_checked_against_the_injected_today():
    on_the_day = {"date_obtention": "01/06/2026"}
    fourteenth_birthday = {"date_naissance": "11/03/2010", "date_obtention": "11/03/2024"}

    assert rejections_of(on_the_day, fourteenth_birthday) == [[], []]
    assert rejections_of(on_the_day, today=date(2026, 5, 31)) == [
        [("date_obtention", "La date d'obtention 01/06/2026 est dans le futur.")]
    ]


def test_r13_an_obtention_date_is_still_checked_for_the_future_when_the_birth_date_is_wrong():
    assert rejections_of({"date_naissance": "31/02/1990", "date_obtention": "01/01/2030"}) == [
        [
            ("date_naissance", "La date de naissance 31/02/1990 n'existe pas."),
            ("date_obtention", "La date d'obtention 01/01/2030 est dans le futur."),
        ]
    ]


def test_r13_a_record_with_a_structure_error_is_rejected_for_it_alone():
    broken = Record("ligne 2", {"nom": "Dupont"}, "La ligne compte 3 colonnes au lieu de 7.")

    [(_, rejections)] = check([broken], today=TODAY)

    assert rejections == [
        Rejection("ligne 2", "enregistrement", "La ligne compte 3 colonnes au lieu de 7.")
    ]


def test_r13_a_duplicate_is_the_same_candidate_and_certification_whatever_the_case_and_accents():
    first = {"nom": "Le Gall", "prenom": "Élodie"}
    same = {"nom": "LE-GALL", "prenom": "elodie", "date_naissance": "1990-03-12"}

    assert rejections_of(first, same) == [
        [],
        [
            (
                "enregistrement",
                "Doublon de la ligne 2 : même candidat (nom, prénom, date de naissance) et même "
                "certification.",
            )
        ],
    ]


def test_r13_another_certification_or_birth_date_is_not_a_duplicate():
    assert rejections_of(
        {}, {"code_certification": "RS5678"}, {"date_naissance": "13/03/1990"}
    ) == [[], [], []]


def test_r13_a_rejected_record_reserves_nothing_for_the_duplicates_index():
    """The rejected first occurrence is not stored: the corrected second one is the one kept."""
    assert rejections_of({"resultat": "reçu"}, {}, {}) == [
        [("resultat", f"Le résultat « reçu » {NOT_A_VALUE}")],
        [],
        [
            (
                "enregistrement",
                "Doublon de la ligne 3 : même candidat (nom, prénom, date de naissance) et même "
                "certification.",
            )
        ],
    ]


def test_r13_what_stands_between_records_is_rejected_in_its_place(tmp_path):
    nested = xml_record().replace("<nom>", "<nom><enregistrement/>")
    content = xml(xml_record(), "<note>à revoir</note>", nested, xml_record("Durand"))
    path = write(tmp_path, "intrus.xml", content)

    assert deposit(path) == [
        (
            "enregistrement 2 (ligne 4)",
            "enregistrement",
            "L'élément <note> n'est pas attendu ici : un dépôt ne contient que des éléments "
            "<enregistrement>.",
        ),
        (
            "enregistrement 3 (ligne 5)",
            "enregistrement",
            "Le champ <nom> ne doit contenir que du texte.",
        ),
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            xml_record().replace("<nom>", "mot perdu<nom>"),
            "L'élément <enregistrement> contient du texte hors de ses champs.",
        ),
        (xml_record("A" * 201), "Le champ <nom> dépasse 200 caractères."),
        (
            xml_record().replace("<nom>", '<nom lang="fr">'),
            "Le champ <nom> ne doit contenir que du texte.",
        ),
        (
            xml_record().replace(
                "<prenom>Jean</prenom>", "<prenom>Jean</prenom><prenom>Paul</prenom>"
            ),
            "Le champ <prenom> apparaît plusieurs fois.",
        ),
        (
            "<enregistrement><code_certification>RS5678</code_certification></enregistrement>",
            "Champs absents : <nom>, <prenom>, <date_naissance>, <date_obtention>, <resultat>.",
        ),
    ],
)
def test_r13_an_xml_record_the_schema_refuses_is_rejected_in_words_a_depositor_acts_on(
    tmp_path, record, reason
):
    path = write(tmp_path, "schema.xml", xml(xml_record("Durand"), record))

    assert deposit(path) == [("enregistrement 2 (ligne 4)", "enregistrement", reason)]
