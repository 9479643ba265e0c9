"""Zone file validation through `meridiand --check`: every error is reported as
`path:line:column: message`, with the line (and column) of the offending key or record."""

import subprocess

import pytest

from config_toml import write_config
from diagnostics import line_col, parse_errors, same_file
from meridian_server import run_check
from paths import require_binary

BASE_TOP = """origin = "bad.test."
ttl = 300
"""

BASE_SOA = """
[soa]
primary = "ns1.bad.test."
contact = "hostmaster.bad.test."
serial = 1
refresh = 3600
retry = 600
expire = 1209600
negative_ttl = 60
ttl = 3600
"""

BASE_RECORDS = """@      IN NS    ns1
@      IN NS    ns2.example.net.
ns1    IN A     192.0.2.1
www    IN A     192.0.2.2
mail   IN MX    10 www
"""


def zone_text(top=BASE_TOP, records=BASE_RECORDS, extra_records="", soa=BASE_SOA):
    """origin/ttl, then the records string, then the [soa] table (like zones/geo.example.com.toml)."""
    return top + '\nrecords = """\n' + records + extra_records + '"""\n' + soa


def check(tmp_path, text, filename="bad.test.toml"):
    """Run --check on a config that serves just this zone file: (proc, errors, zone_path)."""
    zdir = tmp_path / "zones"
    zdir.mkdir(exist_ok=True)
    zone = zdir / filename
    zone.write_text(text)
    cfg = write_config(tmp_path, [zone])
    proc = run_check(cfg)
    return proc, parse_errors(proc.stderr), zone


def errors_for(errors, zone):
    return [e for e in errors if same_file(e[0], zone, zone.parent)]


def assert_single_error(tmp_path, text, needle, keywords, exact_col=True, filename="bad.test.toml"):
    proc, errors, zone = check(tmp_path, text, filename)
    assert proc.returncode == 1, f"exit {proc.returncode}; stderr:\n{proc.stderr}"
    mine = errors_for(errors, zone)
    assert len(mine) == 1, f"expected one error line for {zone}; stderr:\n{proc.stderr}"
    _path, line, col, msg = mine[0]
    if needle is not None:
        exp_line, exp_col = line_col(text, needle)
        assert line == exp_line, f"line {line} != {exp_line} ({needle!r}); stderr:\n{proc.stderr}"
        if exact_col:
            assert col == exp_col, f"column {col} != {exp_col} ({needle!r}); stderr:\n{proc.stderr}"
    for kw in keywords:
        assert kw in msg, f"{kw!r} not in message {msg!r}"
    return line, col, msg


def test_valid_base_zone_passes_the_check(tmp_path):
    proc, errors, _zone = check(tmp_path, zone_text())
    assert proc.returncode == 0, proc.stderr
    assert errors == []


def test_unknown_top_level_key_is_reported_with_a_suggestion(tmp_path):
    text = zone_text(top=BASE_TOP.replace("ttl = 300\n", "ttl = 300\nttll = 300\n"))
    _l, _c, msg = assert_single_error(tmp_path, text, "ttll = 300", ["unknown key"])
    assert msg == 'unknown key "ttll" in zone (did you mean "ttl"?)'


def test_unknown_key_in_soa_table_is_reported_with_a_suggestion(tmp_path):
    text = zone_text(soa=BASE_SOA.replace("serial = 1\n", 'serial = 1\nprimry = "x."\n'))
    _l, _c, msg = assert_single_error(tmp_path, text, "primry", ["unknown key"])
    assert msg == 'unknown key "primry" in [soa] (did you mean "primary"?)'


def test_cname_with_other_data_is_reported(tmp_path):
    text = zone_text(extra_records="www    IN CNAME mail\n")
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1, proc.stderr
    mine = errors_for(errors, zone)
    assert len(mine) == 1, proc.stderr
    _p, line, col, msg = mine[0]
    assert line in (line_col(text, "www    IN A")[0], line_col(text, "www    IN CNAME")[0])
    assert col == 1
    assert "CNAME" in msg and "other data" in msg


def test_two_cnames_at_one_name_are_reported(tmp_path):
    text = zone_text(extra_records="alias  IN CNAME www\nalias  IN CNAME mail\n")
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1, proc.stderr
    assert len(errors_for(errors, zone)) >= 1
    assert any("CNAME" in e[3] for e in errors_for(errors, zone)), proc.stderr


@pytest.mark.parametrize(
    "record",
    ["www.example.org. IN A 192.0.2.9", "bad.test.example. IN A 192.0.2.9", "xbad.test. IN TXT \"x\""],
)
def test_record_outside_the_origin_is_reported(tmp_path, record):
    text = zone_text(extra_records=record + "\n")
    assert_single_error(tmp_path, text, record, ["outside"])


def test_missing_soa_table_is_reported(tmp_path):
    text = zone_text(soa="")
    assert_single_error(tmp_path, text, None, ["missing [soa]"])


def test_zone_without_apex_ns_is_reported(tmp_path):
    records = "\n".join(line for line in BASE_RECORDS.splitlines() if " NS " not in line) + "\n"
    text = zone_text(records=records)
    assert_single_error(tmp_path, text, None, ["no NS records at the apex"])


def test_in_zone_ns_target_without_address_is_reported_as_missing_glue(tmp_path):
    text = zone_text(extra_records="@      IN NS    ns3\n")
    assert_single_error(tmp_path, text, "@      IN NS    ns3", ["glue"])


def test_delegation_without_glue_for_in_zone_target_is_reported(tmp_path):
    text = zone_text(extra_records="child  IN NS    ns.child\n")
    assert_single_error(tmp_path, text, "child  IN NS    ns.child", ["glue"])


def test_out_of_zone_ns_target_needs_no_glue(tmp_path):
    text = zone_text(extra_records="child  IN NS    ns.example.net.\n")
    proc, errors, _zone = check(tmp_path, text)
    assert proc.returncode == 0, proc.stderr
    assert errors == []


BAD_RECORDS = {
    "unknown-type": "www2   IN BOGUS  foo",
    "bad-ipv4": "www2   IN A      300.1.2.3",
    "short-ipv4": "www2   IN A      192.0.2",
    "bad-ipv6": "www2   IN AAAA   2001:db8::zz",
    "ipv6-in-a": "www2   IN A      2001:db8::1",
    "mx-without-preference": "www2   IN MX     mx1",
    "srv-missing-fields": "_x._tcp IN SRV  10 60 sip",
    "unterminated-txt": 'www2   IN TXT    "no end',
    "bad-ttl": "www2   12x IN A  192.0.2.5",
    "missing-rdata": "www2   IN A",
}


@pytest.mark.parametrize("case", list(BAD_RECORDS), ids=list(BAD_RECORDS))
def test_unparseable_record_is_reported_at_its_line_and_column(tmp_path, case):
    record = BAD_RECORDS[case]
    text = zone_text(extra_records="ok1    IN A     192.0.2.7\n" + record + "\nok2    IN A     192.0.2.8\n")
    assert_single_error(tmp_path, text, record, ["cannot parse record"])


def test_record_in_an_array_is_reported_at_the_column_of_its_text(tmp_path):
    text = BASE_TOP + """
records = [
  "@      IN NS    ns1",
  "ns1    IN A     192.0.2.1",
    "www    IN A     999.0.2.1",
]
""" + BASE_SOA
    line, col, _msg = assert_single_error(tmp_path, text, "www    IN A     999", ["cannot parse record"])
    assert col == 6


def test_all_errors_of_a_zone_are_reported_in_one_run(tmp_path):
    top = BASE_TOP.replace("ttl = 300\n", "ttl = 300\nttll = 300\n")
    extra = "www2   IN A      300.1.2.3\nfoo.example.org. IN A 192.0.2.9\n"
    text = zone_text(top=top, extra_records=extra)
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1
    mine = errors_for(errors, zone)
    assert len(mine) == 3, f"expected 3 error lines; stderr:\n{proc.stderr}"
    found = {(line, col) for _p, line, col, _m in mine}
    assert found == {
        line_col(text, "ttll")[0:2],
        line_col(text, "www2   IN A")[0:2],
        line_col(text, "foo.example.org.")[0:2],
    }, proc.stderr
    messages = " | ".join(m for *_x, m in mine)
    assert "unknown key" in messages and "cannot parse record" in messages and "outside" in messages


def test_errors_in_two_zone_files_are_all_reported(tmp_path):
    zdir = tmp_path / "zones"
    zdir.mkdir()
    one = zdir / "one.toml"
    two = zdir / "two.toml"
    text_one = zone_text(extra_records="www2   IN A      300.1.2.3\n")
    text_two = zone_text(
        top=BASE_TOP.replace("bad.test.", "two.test."),
        soa=BASE_SOA.replace("bad.test.", "two.test."),
        extra_records="x.example.org. IN A 192.0.2.1\n")
    one.write_text(text_one)
    two.write_text(text_two)
    proc = run_check(write_config(tmp_path, [zdir]))
    assert proc.returncode == 1
    errors = parse_errors(proc.stderr)
    assert [e[1] for e in errors_for(errors, one)] == [line_col(text_one, "www2")[0]], proc.stderr
    assert [e[1] for e in errors_for(errors, two)] == [line_col(text_two, "x.example.org.")[0]], proc.stderr


def test_toml_syntax_error_in_a_zone_is_reported_with_position(tmp_path):
    text = zone_text(soa=BASE_SOA.replace("serial = 1\n", "serial = = 1\n"))
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1
    mine = errors_for(errors, zone)
    assert len(mine) >= 1, proc.stderr
    assert mine[0][1] == line_col(text, "serial = = 1")[0], proc.stderr


def test_wrong_value_type_is_reported_at_its_key(tmp_path):
    text = zone_text(soa=BASE_SOA.replace("serial = 1\n", 'serial = "one"\n'))
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1
    mine = errors_for(errors, zone)
    assert [e[1] for e in mine] == [line_col(text, 'serial = "one"')[0]], proc.stderr


def test_missing_origin_is_reported(tmp_path):
    text = zone_text(top=BASE_TOP.replace('origin = "bad.test."\n', ""))
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1
    mine = errors_for(errors, zone)
    assert len(mine) >= 1 and any("origin" in m for *_x, m in mine), proc.stderr


def test_server_refuses_to_start_with_a_broken_zone(tmp_path):
    text = zone_text(extra_records="www2   IN A      300.1.2.3\n")
    zdir = tmp_path / "zones"
    zdir.mkdir()
    zone = zdir / "bad.test.toml"
    zone.write_text(text)
    cfg = write_config(tmp_path, [zone])
    proc = subprocess.run(
        [str(require_binary()), "-c", str(cfg)], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
    )
    assert proc.returncode != 0
    mine = errors_for(parse_errors(proc.stderr), zone)
    assert [e[1] for e in mine] == [line_col(text, "www2")[0]], proc.stderr


# --------------------------------------------------------------------------------------------
# Further checks documented in docs/ZONES.md
# --------------------------------------------------------------------------------------------

PAIR_ERRORS = {
    # case: (records added, needle of the offending record, other record the error may point at, keyword)
    "two-cnames": ("alias  IN CNAME www\nalias  IN CNAME mail\n", "alias  IN CNAME mail", "alias  IN CNAME www", "more than one CNAME"),
    "duplicate-record": ("www    IN A     192.0.2.2\n", "www    IN A     192.0.2.2", "www    IN A     192.0.2.2", "duplicate record"),
    "ttl-differs-in-rrset": ("www    60 IN A  192.0.2.3\n", "www    60 IN A", "www    IN A     192.0.2.2", "differs"),
}


@pytest.mark.parametrize("case", list(PAIR_ERRORS), ids=list(PAIR_ERRORS))
def test_conflicting_records_are_reported_at_one_of_their_lines(tmp_path, case):
    extra, needle, other, keyword = PAIR_ERRORS[case]
    text = zone_text(extra_records=extra)
    proc, errors, zone = check(tmp_path, text)
    assert proc.returncode == 1, proc.stderr
    mine = errors_for(errors, zone)
    assert len(mine) == 1, proc.stderr
    _p, line, col, msg = mine[0]
    allowed = {line_col(text, needle, occurrence=n)[0] for n in (1, 2) if text.count(needle) >= n}
    allowed.add(line_col(text, other)[0])
    assert line in allowed, proc.stderr
    assert col == 1
    assert keyword in msg, msg


SINGLE_ERRORS = {
    "class-other-than-in": ('www2   CH TXT   "x"', "class must be IN"),
    "ns-on-wildcard": ("*.w    IN NS    ns1", "cannot own NS"),
    "dname-refused": ("old    IN DNAME www", ""),
    "data-below-delegation": ('x.child IN TXT  "below the cut"', "only A and AAAA glue"),
}


@pytest.mark.parametrize("case", list(SINGLE_ERRORS), ids=list(SINGLE_ERRORS))
def test_forbidden_record_is_reported_at_its_line(tmp_path, case):
    record, keyword = SINGLE_ERRORS[case]
    text = zone_text(extra_records="child  IN NS    ns.example.net.\n" + record + "\n")
    assert_single_error(tmp_path, text, record, [keyword])


def test_two_files_with_the_same_origin_are_reported(tmp_path):
    zdir = tmp_path / "zones"
    zdir.mkdir()
    (zdir / "a.toml").write_text(zone_text())
    (zdir / "b.toml").write_text(zone_text())
    proc = run_check(write_config(tmp_path, [zdir]))
    assert proc.returncode == 1, proc.stderr
    assert "is already loaded from" in proc.stderr, proc.stderr
    errors = parse_errors(proc.stderr)
    dup = [e for e in errors if "is already loaded from" in e[3]]
    assert len(dup) == 1, f"error not in path:line:column: form:\n{proc.stderr}"
    second = zdir / "b.toml" if same_file(dup[0][0], zdir / "b.toml", zdir) else zdir / "a.toml"
    assert same_file(dup[0][0], second, zdir), proc.stderr
    assert dup[0][1] == line_col(zone_text(), "origin")[0], "should point at the origin key"


def test_indented_array_element_is_never_silently_dropped(tmp_path, start_server):
    """An indented string in a records array either continues the previous owner or is an error."""
    text = BASE_TOP + """
records = [
  "@      IN NS    ns1",
  "ns1    IN A     192.0.2.1",
  "multi  IN A     192.0.2.2",
  "       IN A     192.0.2.3",
]
""" + BASE_SOA
    proc, errors, zone = check(tmp_path, text)
    if proc.returncode == 1:
        assert [e[1] for e in errors_for(errors, zone)] == [line_col(text, '"       IN A')[0]], proc.stderr
        return
    srv = start_server(zones=[zone])
    r = srv.query("multi.bad.test.", "A")
    got = sorted(rd.address for rd in r.answer[0]) if r.answer else []
    assert got == ["192.0.2.2", "192.0.2.3"], "--check accepted the zone but 192.0.2.3 is not served at multi"
