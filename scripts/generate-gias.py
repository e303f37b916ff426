#!/usr/bin/env python3
"""Writes a synthetic GIAS establishments file (edubasealldata<yyyyMMdd>.csv): Windows-1252, a header row, the
columns DQT maps (legacy-exchanges.md section 10, plus CloseDate) among others up to --columns in all.

usage: generate-gias.py OUT [--rows N] [--columns N] [--seed N]
Every value is made up; the same arguments write the same bytes."""
import argparse
import random

MAPPED = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)", "EstablishmentTypeGroup (code)", "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (code)", "EstablishmentStatus (name)", "OpenDate", "CloseDate", "PhaseOfEducation (code)",
    "PhaseOfEducation (name)", "StatutoryLowAge", "StatutoryHighAge", "SchoolCapacity", "NumberOfPupils",
    "NumberOfBoys", "NumberOfGirls", "PercentageFSM", "Street", "Locality", "Address3", "Town", "County (name)",
    "Postcode", "SchoolWebsite", "UKPRN", "Easting", "Northing",
]
LAS = [("201", "City of London"), ("202", "Camden"), ("330", "Birmingham"), ("855", "Leicestershire"),
       ("919", "Hertfordshire"), ("926", "Norfolk"), ("941", "West Northamptonshire")]
TYPES = [("1", "Community school", "4", "Local authority maintained schools"),
         ("28", "Academy sponsor led", "10", "Academies"), ("34", "Academy converter", "10", "Academies"),
         ("3", "Voluntary controlled school", "4", "Local authority maintained schools")]
PHASES = [("2", "Primary"), ("4", "Secondary"), ("0", "Not applicable")]
NAMES = ["St Mary's C of E", "Oakfield", "Riverside", "Hillcrest", "Café Lane", "Ashton Fields", "Brook’s End",
         "Kingsmead", "Willowbrook", "Elmhurst"]
TOWNS = ["Northampton", "Leicester", "Norwich", "St Albans", "Birmingham", "London"]


def columns(count):
    names = list(MAPPED)
    n = 1
    while len(names) < count:
        names.append(f"SEN{n} (name)" if n <= 13 else f"Extra{n} (code)")
        n += 1
    return names[:max(count, len(MAPPED))]


def quote(text):
    return '"' + text.replace('"', '""') + '"' if ("," in text or '"' in text) else text


def row(rng, urn, header):
    la, la_name = rng.choice(LAS)
    type_code, type_name, group_code, group_name = rng.choice(TYPES)
    phase_code, phase_name = rng.choice(PHASES)
    closed = rng.random() < 0.12
    values = {
        "URN": str(urn), "LA (code)": la, "LA (name)": la_name,
        "EstablishmentNumber": "" if rng.random() < 0.03 else f"{rng.randint(1000, 7999)}",
        "EstablishmentName": f"{rng.choice(NAMES)} {rng.choice(['Primary School', 'Academy', 'School', 'Infant School'])}",
        "TypeOfEstablishment (code)": type_code, "TypeOfEstablishment (name)": type_name,
        "EstablishmentTypeGroup (code)": group_code, "EstablishmentTypeGroup (name)": group_name,
        "EstablishmentStatus (code)": "2" if closed else "1", "EstablishmentStatus (name)": "Closed" if closed else "Open",
        "OpenDate": f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(1950, 2015)}",
        "CloseDate": f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(2000, 2025)}" if closed else "",
        "PhaseOfEducation (code)": phase_code, "PhaseOfEducation (name)": phase_name,
        "StatutoryLowAge": "4", "StatutoryHighAge": "11", "SchoolCapacity": str(rng.randint(50, 2000)),
        "NumberOfPupils": "" if closed else str(rng.randint(20, 1900)), "NumberOfBoys": "", "NumberOfGirls": "",
        "PercentageFSM": "" if closed else f"{rng.randint(0, 600) / 10:.1f}",
        "Street": f"{rng.randint(1, 200)} {rng.choice(['High Street', 'Church Road', 'Mill Lane', 'Station Road'])}",
        "Locality": "", "Address3": "", "Town": rng.choice(TOWNS), "County (name)": "",
        "Postcode": f"{rng.choice(['NN', 'LE', 'NR', 'AL', 'B'])}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
        "SchoolWebsite": "", "UKPRN": str(10000000 + urn % 9000000), "Easting": str(rng.randint(400000, 600000)),
        "Northing": str(rng.randint(100000, 400000)),
    }
    return ",".join(quote(values.get(name, rng.choice(["", "Not applicable", "0"]))) for name in header)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--columns", type=int, default=130)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    header = columns(args.columns)
    with open(args.out, "w", encoding="cp1252", newline="") as out:
        out.write(",".join(quote(name) for name in header) + "\r\n")
        for index in range(args.rows):
            out.write(row(rng, 100000 + index, header) + "\r\n")


if __name__ == "__main__":
    main()
