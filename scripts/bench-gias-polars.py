#!/usr/bin/env python3
"""Peer baseline for scripts/bench-gias.sh: the rules of mappings/gias-establishments.yaml on a GIAS file, with
polars (multi-threaded). Prints "read N valid V invalid I"."""
import datetime
import sys

import polars as pl

df = pl.read_csv(sys.argv[1], encoding="windows-1252", infer_schema=False).fill_null("")
today = datetime.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else datetime.date.today()


def length(name, most, required=False):
    trimmed = pl.col(name).str.strip_chars()
    fits = trimmed.str.len_chars() <= most
    return (fits & (trimmed != "")) if required else fits


def integer(name, low, high, required=False):
    value = pl.col(name).str.strip_chars().cast(pl.Int64, strict=False)
    ok = value.is_between(low, high)
    return ok.fill_null(False) if required else (ok.fill_null(False) | (pl.col(name).str.strip_chars() == ""))


close = pl.col("CloseDate").str.strip_chars()
close_date = close.str.strptime(pl.Date, "%d-%m-%Y", strict=False)
ok = (
    integer("URN", 1, 999_999_999, required=True)
    & pl.col("LA (code)").str.strip_chars().str.contains(r"^\d{3}$")
    & pl.col("EstablishmentNumber").str.strip_chars().str.contains(r"^(\d{4})?$")
    & length("EstablishmentName", 200, required=True)
    & length("LA (name)", 100)
    & length("TypeOfEstablishment (code)", 10) & length("TypeOfEstablishment (name)", 100)
    & length("EstablishmentTypeGroup (code)", 10) & length("EstablishmentTypeGroup (name)", 100)
    & length("EstablishmentStatus (code)", 10) & length("EstablishmentStatus (name)", 100)
    & length("PhaseOfEducation (code)", 10) & length("PhaseOfEducation (name)", 100)
    & integer("NumberOfPupils", 0, 100_000)
    & (pl.col("PercentageFSM").str.strip_chars().str.contains(r"^(-?\d+(\.\d+)?)?$"))
    & length("Street", 100) & length("Locality", 100) & length("Address3", 100) & length("Town", 100)
    & length("County (name)", 100) & length("Postcode", 10)
    & ((close == "") | (close_date.is_not_null() & (close_date <= pl.lit(today))).fill_null(False))
)
# A URN seen twice: its later rows are refused (the bridge's duplicate rule).
ok = ok & pl.col("URN").is_first_distinct()
r = df.select(ok.alias("ok"))["ok"]
n = len(r)
v = int(r.sum())
print(f"read {n} valid {v} invalid {n - v}")
