"""DNSSEC key rollovers driven by key timing metadata, step by step, with a real validator: BIND's
delv against a DS trust anchor that stands for the parent (the DS `meridiand ds` names, changed
only where the procedure has the parent change it). Keys are made by `meridiand keygen` with
times a few seconds ahead, so the server's own timers move each rollover on; at every step the
DNSKEY set, the SOA, a static A, a steered A and a denial are asked with dig +dnssec (which key
tags are in the DNSKEY set, which sign each RRset) and validated by delv, and /status must say
the same of each key. Covered:

1. ZSK pre-publish rollover (RFC 6781 4.1.1.1), the KSK and its DS unchanged;
2. CSK rollover with double DS (RFC 6781 4.1.2): CDS names both keys before the switch;
3. algorithm rollover 13 -> 15, conservative (RFC 6781 4.1.4): signatures of the new algorithm
   first, its DNSKEY next, then the DS, then the old key goes;
4. timing changed in the key files with dnssec-settime, then SIGHUP.

All the while a client asks the same questions over UDP every 20 ms: no reply may time out, be
SERVFAIL, lack or carry a bad signature, or show a key state that the schedule does not have
at that time (nothing early; at most SLACK late). Every wait is bounded."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from admin_client import admin_json
from meridian_server import start_ops_server, wait_for
from rollover_tools import (
    Schedule,
    Watcher,
    dig,
    ds_tag,
    dsfromkey,
    delv,
    judge,
    keygen,
    meridian_ds,
    normalise_ds,
    settime,
    stamp,
    write_ds_anchor,
)

ZONE = "rollover.example."
STATIC, STEERED, MISSING = f"www.{ZONE}", f"app.{ZONE}", f"nope.{ZONE}"
STATIC_A, STEERED_A, ELSEWHERE_A = "192.0.2.1", "192.0.2.20", "192.0.2.10"
# (name, type) asked at every step and all the while by the watcher
QUESTIONS = [(ZONE, "DNSKEY"), (ZONE, "SOA"), (STATIC, "A"), (STEERED, "A"), (MISSING, "A")]

SWITCH = 10  # seconds after t0: the new key signs, the old one stops
REMOVE = 18  # seconds after t0: the old key's DNSKEY goes
SLACK = 1.5  # seconds the server may take to serve the new state after a key event
SIGN_BOUND = 5.0  # seconds /status has to show that the zone was signed again after an event
ECDSA, ED25519 = 13, 15

TOOLS = ["delv", "dig", "dnssec-settime", "dnssec-dsfromkey"]
_missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"missing {', '.join(_missing)} (tools/install-deps.sh)")


def zone_text(keys_dir: Path) -> str:
    return f"""origin = "{ZONE}"
ttl = 300
records = \"\"\"
@     3600 IN NS  ns1
ns1        IN A   127.0.0.1
www        IN A   {STATIC_A}
\"\"\"

[dnssec]
keys = "{keys_dir}"
dnskey_ttl = 2

[soa]
primary = "ns1.{ZONE}"
contact = "hostmaster.{ZONE}"
serial = 1
refresh = 3600
retry = 600
expire = 86400
negative_ttl = 2

[cidrs]
loopback = ["127.0.0.0/8", "::1/128"]

[regions.located]
addresses = ["{STEERED_A}"]

[regions.elsewhere]
addresses = ["{ELSEWHERE_A}"]

[names.app]
ttl = 30
[[names.app.route]]
when = {{ cidr = "loopback" }}
to = ["located"]
[[names.app.route]]
to = ["elsewhere"]
"""


class Rollover:
    """One zone's keys, the server signing it, the watcher asking it, and the step checks."""

    def __init__(self, factory, tmp_path: Path):
        self.factory = factory
        self.tmp = tmp_path
        self.keys_dir = tmp_path / "keys"
        self.keys_dir.mkdir()
        self.schedule = Schedule()
        self.t0 = int(time.time())  # a whole second: "now" for the keys made next
        self.srv = None
        self.watcher = None
        self.log_mark = 0
        self.signed_again = re.compile(rf"dnssec: signed {re.escape(ZONE.rstrip('.'))}\.? again")

    # -- setup -------------------------------------------------------------------------------

    def key(self, label: str, **kw):
        return self.schedule.add(keygen(self.keys_dir, ZONE, label=label, **kw))

    def at(self, offset: int) -> int:
        return self.t0 + offset

    def start(self) -> None:
        self.srv = start_ops_server(self.factory, zone_files={"rollover.example.toml": zone_text(self.keys_dir)})
        keys = {(k.tag, k.algorithm): k.dnskey for k in self.schedule.keys}
        self.watcher = Watcher(self.srv.port, ZONE, QUESTIONS, lambda tag, alg: keys.get((tag, alg)))
        self.watcher.__enter__()
        self.log_mark = len(self.signed_again.findall(self.srv.stderr()))

    def finish(self) -> None:
        """Stop the watcher; every reply it had must fit the schedule."""
        self.watcher.stop()
        replies = self.watcher.replies
        assert len(replies) > 50, f"the watcher got only {len(replies)} replies"
        bad = judge(replies, self.schedule, SLACK)
        assert not bad, (f"{len(bad)} of {len(replies)} replies asked during the rollover were wrong:\n"
                         + "\n".join(bad[:40]) + f"\nschedule:\n{self.schedule.describe()}")

    # -- the server's view -------------------------------------------------------------------

    def status(self) -> dict:
        zones = admin_json(self.srv, "GET", "/status")["zones"]
        (zone,) = [z for z in zones if z.get("origin") == ZONE]
        return zone["dnssec"]

    def ds(self) -> list:
        """What `meridiand ds` says the parent should hold now."""
        return meridian_ds(self.srv.config_path, ZONE)

    def anchor(self, name: str, ds_records) -> Path:
        return write_ds_anchor(self.tmp / f"{name}.anchor", ZONE, ds_records)

    def wait_event(self, event: int) -> None:
        """Until `event` (epoch seconds) has passed and /status says the zone was signed at or
        after it, and the log says it was signed again."""
        delay = event - time.time()
        assert delay < 60, f"an event {delay:.1f} s ahead: the test's own timing is wrong"
        if delay > 0:
            time.sleep(delay + 0.05)
        signed = wait_for(lambda: (self.status().get("signed_at") or 0) >= event, timeout=SIGN_BOUND, interval=0.05)
        assert signed, (f"/status does not show the zone signed again within {SIGN_BOUND} s of the key event at "
                        f"{stamp(event)}: {self.status()}\n{self.srv.describe()}")
        again = wait_for(lambda: len(self.signed_again.findall(self.srv.stderr())) > self.log_mark,
                         timeout=SIGN_BOUND)
        assert again, f"no new 'dnssec: signed {ZONE} again' log line after {stamp(event)}\n{self.srv.describe()}"
        self.log_mark = len(self.signed_again.findall(self.srv.stderr()))

    # -- one step ----------------------------------------------------------------------------

    def step(self, label: str, *, until: int, anchors: dict, dnskeys: set, zone_signers: set, key_signers: set,
             cds: set, algorithms=None) -> None:
        """Check everything a validator sees now; the step must be over before `until` (the next
        key event), else the machine was too slow for these offsets and the step proves nothing.

        anchors: {name: trust-anchor file} for delv, each of which must validate every answer;
        dnskeys: the tags of the DNSKEY set; zone_signers: the tags whose RRSIGs cover SOA, A,
        NSEC; key_signers: those over DNSKEY and CDS; cds: the tags CDS (and meridiand ds)
        name; algorithms: the algorithms every RRset must be signed with (default: those of
        the signers)."""
        began = time.time()
        sched = self.schedule
        # The test's own expectations must be what the timing rules say.
        assert dnskeys == sched.published(began) and zone_signers == sched.signers(began, "SOA") \
            and key_signers == sched.signers(began, "DNSKEY") and cds == sched.cds(began), \
            f"{label}: the test's expectations disagree with the schedule\n{sched.describe()}"
        context = f"step '{label}' at {stamp(began)} (t0+{began - self.t0:.1f} s)\nschedule:\n{sched.describe()}"

        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            for qname, rdtype in QUESTIONS + [(ZONE, "CDS"), (ZONE, "CDNSKEY")]:
                jobs[("dig", qname, rdtype)] = pool.submit(dig, self.srv.port, qname, rdtype)
            for name, path in anchors.items():
                for qname, rdtype in QUESTIONS:
                    jobs[("delv", name, qname, rdtype)] = pool.submit(delv, self.srv.port, path, ZONE, qname, rdtype)
            ds_now = pool.submit(self.ds)
            status = pool.submit(self.status)
        res = {k: f.result() for k, f in jobs.items()}
        ds_now, status = ds_now.result(), status.result()
        ended = time.time()
        assert ended < until, (f"{label}: the checks took until t0+{ended - self.t0:.1f} s, past the next key "
                               f"event at t0+{until - self.t0} s: this machine is too slow for the offsets "
                               f"(SWITCH/REMOVE)\n{context}")

        # dig: answers, key tags in the DNSKEY set, key tags of the signatures
        key_ans = res[("dig", ZONE, "DNSKEY")]
        assert key_ans.status == "NOERROR", f"{context}\n{key_ans.describe()}"
        assert key_ans.dnskey_tags() == dnskeys, \
            f"{context}\nDNSKEY set {sorted(key_ans.dnskey_tags())}, expected {sorted(dnskeys)}\n{key_ans.describe()}"
        assert key_ans.signers("DNSKEY") == key_signers, \
            f"{context}\nDNSKEY signed by {sorted(key_ans.signers('DNSKEY'))}, expected {sorted(key_signers)}\n" \
            f"{key_ans.describe()}"
        covered = {(ZONE, "DNSKEY"): ["DNSKEY"], (ZONE, "SOA"): ["SOA"], (STATIC, "A"): ["A"],
                   (STEERED, "A"): ["A"], (MISSING, "A"): ["SOA", "NSEC"]}
        for (qname, rdtype), types in covered.items():
            d = res[("dig", qname, rdtype)]
            if qname == MISSING:
                assert d.status in ("NXDOMAIN", "NOERROR") and not d.types("ANSWER") - {"RRSIG"}, \
                    f"{context}\n{d.describe()}"
                assert {"SOA", "NSEC"} <= d.types("AUTHORITY"), \
                    f"{context}\ndenial without SOA and NSEC\n{d.describe()}"
            else:
                assert d.status == "NOERROR", f"{context}\n{d.describe()}"
            if (qname, rdtype) == (STATIC, "A"):
                assert d.rdatas("A") == [STATIC_A], f"{context}\n{d.describe()}"
            if (qname, rdtype) == (STEERED, "A"):
                assert d.rdatas("A") == [STEERED_A], f"{context}\nthe steered name answered wrong\n{d.describe()}"
            for t in types:
                want = key_signers if t == "DNSKEY" else zone_signers
                want_algs = algorithms or {sched.by_tag(tag).algorithm for tag in want}
                assert d.signers(t) == want, \
                    f"{context}\n{qname} {t} signed by {sorted(d.signers(t))}, expected {sorted(want)}\n{d.describe()}"
                assert d.algorithms(t) == set(want_algs), \
                    f"{context}\n{qname} {t} signed with algorithms {sorted(d.algorithms(t))}, expected " \
                    f"{sorted(want_algs)}\n{d.describe()}"

        # CDS and CDNSKEY (what the parent is told) and meridiand ds agree, and name the expected keys
        expected_ds = sorted(dsfromkey(sched.by_tag(tag)) for tag in cds)
        assert ds_now == expected_ds, f"{context}\nmeridiand ds: {ds_now}\nexpected (dnssec-dsfromkey): {expected_ds}"
        cds_ans = res[("dig", ZONE, "CDS")]
        assert cds_ans.status == "NOERROR", f"{context}\n{cds_ans.describe()}"
        served_cds = [normalise_ds(r) for r in cds_ans.rdatas("CDS")]
        assert {ds_tag(d) for d in served_cds} == cds, \
            f"{context}\nCDS names {sorted(ds_tag(d) for d in served_cds)}, expected {sorted(cds)}\n" \
            f"{cds_ans.describe()}"
        assert sorted(d for d in served_cds if d.split()[2] == "2") == expected_ds, \
            f"{context}\nCDS (SHA-256) {served_cds}, expected {expected_ds}\n{cds_ans.describe()}"
        cdnskey_ans = res[("dig", ZONE, "CDNSKEY")]
        assert cdnskey_ans.dnskey_tags("CDNSKEY") == cds, f"{context}\n{cdnskey_ans.describe()}"
        for d, covered_type in ((cds_ans, "CDS"), (cdnskey_ans, "CDNSKEY")):
            assert d.signers(covered_type) == key_signers, \
                f"{context}\n{covered_type} signed by {sorted(d.signers(covered_type))}, expected " \
                f"{sorted(key_signers)}\n{d.describe()}"

        # delv: every answer validates from each anchor the parent may hold at this step
        failures = []
        for name in anchors:
            for qname, rdtype in QUESTIONS:
                r = res[("delv", name, qname, rdtype)]
                want = "negative response, fully validated" if qname == MISSING else "fully validated"
                if r.status != want:
                    failures.append(f"[anchor {name}: {anchors[name].read_text().strip()}]\n{r.describe()}")
        assert not failures, f"{context}\ndelv did not validate:\n" + "\n".join(failures)

        # /status says the same of each key
        by_tag = {k["tag"]: k for k in status["keys"]}
        assert set(by_tag) == {k.tag for k in sched.keys}, f"{context}\n/status keys: {status['keys']}"
        for k in sched.keys:
            s = by_tag[k.tag]
            want = {"algorithm": k.algorithm, "flags": k.flags, "published": k.tag in dnskeys,
                    "signs_zone": k.tag in zone_signers, "signs_keys": k.tag in key_signers, **k.times()}
            got = {field: s.get(field) for field in want}
            assert got == want, f"{context}\n/status of key {k.tag}: {got}\nexpected {want}"


@pytest.fixture
def rollover(start_server, tmp_path):
    roll = Rollover(start_server, tmp_path)
    yield roll
    if roll.watcher is not None:
        roll.watcher.stop()


def test_zsk_prepublish_rollover(rollover):
    """KSK + ZSK1 sign; ZSK2 is published at once and signs from t0+SWITCH, when ZSK1 stops;
    ZSK1's DNSKEY goes at t0+REMOVE. The parent's DS (the KSK's) never changes."""
    r = rollover
    ksk = r.key("KSK")
    zsk1 = r.key("ZSK1", zsk=True, inactive=r.at(SWITCH), delete=r.at(REMOVE))
    zsk2 = r.key("ZSK2", zsk=True, publish=r.t0, activate=r.at(SWITCH))
    r.start()
    parent = r.ds()
    assert parent == [dsfromkey(ksk)], f"meridiand ds names {parent}, not the KSK {ksk.tag} alone"
    anchors = {"KSK DS": r.anchor("ksk", parent)}
    common = dict(anchors=anchors, key_signers={ksk.tag}, cds={ksk.tag})

    r.step("ZSK2 published, ZSK1 signs", until=r.at(SWITCH), dnskeys={ksk.tag, zsk1.tag, zsk2.tag},
           zone_signers={zsk1.tag}, **common)
    r.wait_event(r.at(SWITCH))
    r.step("ZSK2 signs, ZSK1 still published", until=r.at(REMOVE), dnskeys={ksk.tag, zsk1.tag, zsk2.tag},
           zone_signers={zsk2.tag}, **common)
    r.wait_event(r.at(REMOVE))
    r.step("ZSK1 removed", until=r.at(REMOVE) + 3600, dnskeys={ksk.tag, zsk2.tag}, zone_signers={zsk2.tag},
           **common)
    assert r.ds() == parent
    r.finish()


def test_csk_rollover_double_ds(rollover):
    """CSK1 signs; CSK2 is published at once (CDS names both: the parent takes both DS), signs
    from t0+SWITCH when CSK1 stops; CSK1's DNSKEY goes at t0+REMOVE, and then the parent may
    keep only CSK2's DS."""
    r = rollover
    csk1 = r.key("CSK1", inactive=r.at(SWITCH), delete=r.at(REMOVE))
    csk2 = r.key("CSK2", publish=r.t0, activate=r.at(SWITCH))
    r.start()
    both = r.ds()
    assert both == sorted([dsfromkey(csk1), dsfromkey(csk2)]), f"meridiand ds before the switch: {both}"
    assert sorted(ds_tag(d) for d in both) == sorted([csk1.tag, csk2.tag])
    anchors = {"both DS": r.anchor("both", both)}

    r.step("CSK2 published, CSK1 signs", until=r.at(SWITCH), anchors=anchors, dnskeys={csk1.tag, csk2.tag},
           zone_signers={csk1.tag}, key_signers={csk1.tag}, cds={csk1.tag, csk2.tag})
    r.wait_event(r.at(SWITCH))
    r.step("CSK2 signs, CSK1 still published", until=r.at(REMOVE), anchors=anchors, dnskeys={csk1.tag, csk2.tag},
           zone_signers={csk2.tag}, key_signers={csk2.tag}, cds={csk2.tag})
    r.wait_event(r.at(REMOVE))
    new_only = r.ds()
    assert new_only == [dsfromkey(csk2)], f"meridiand ds after the rollover: {new_only}"
    anchors = {"both DS": anchors["both DS"], "CSK2 DS": r.anchor("csk2", new_only)}
    r.step("CSK1 removed", until=r.at(REMOVE) + 3600, anchors=anchors, dnskeys={csk2.tag},
           zone_signers={csk2.tag}, key_signers={csk2.tag}, cds={csk2.tag})
    r.finish()


PUBLISH_NEW_ALG = 7  # seconds after t0: the Ed25519 key's DNSKEY appears


def test_algorithm_rollover_conservative(rollover):
    """ECDSA (13) CSK signs; an Ed25519 (15) CSK signs from t0 on but its DNSKEY only appears at
    t0+PUBLISH_NEW_ALG (RFC 6781 4.1.4: signatures first); then the parent swaps the DS; the
    ECDSA key stops and goes at t0+REMOVE. While both sign, every RRset has both algorithms."""
    r = rollover
    old = r.key("CSK13", inactive=r.at(REMOVE), delete=r.at(REMOVE))
    new = r.key("CSK15", algorithm="ed25519", activate=r.t0, publish=r.at(PUBLISH_NEW_ALG))
    assert (old.algorithm, new.algorithm) == (ECDSA, ED25519)
    r.start()
    old_ds = r.ds()
    assert old_ds == [dsfromkey(old)], f"meridiand ds before the new key is published: {old_ds}"
    both = {old.tag, new.tag}
    algs = {ECDSA, ED25519}

    r.step("Ed25519 signs, not yet published", until=r.at(PUBLISH_NEW_ALG),
           anchors={"DS 13": r.anchor("old", old_ds)}, dnskeys={old.tag}, zone_signers=both, key_signers=both,
           cds={old.tag}, algorithms=algs)
    r.wait_event(r.at(PUBLISH_NEW_ALG))
    r.step("Ed25519 published, parent holds DS 13", until=r.at(REMOVE), anchors={"DS 13": r.anchor("old", old_ds)},
           dnskeys=both, zone_signers=both, key_signers=both, cds=both, algorithms=algs)
    # The parent follows CDS: it now lists the new key; the parent replaces the DS with it.
    listed = r.ds()
    assert listed == sorted([dsfromkey(old), dsfromkey(new)]), f"meridiand ds with both published: {listed}"
    new_ds = [d for d in listed if ds_tag(d) == new.tag]
    r.step("parent holds DS 15", until=r.at(REMOVE), anchors={"DS 15": r.anchor("new", new_ds)},
           dnskeys=both, zone_signers=both, key_signers=both, cds=both, algorithms=algs)
    r.wait_event(r.at(REMOVE))
    r.step("ECDSA key removed", until=r.at(REMOVE) + 3600, anchors={"DS 15": r.anchor("new", new_ds)},
           dnskeys={new.tag}, zone_signers={new.tag}, key_signers={new.tag}, cds={new.tag}, algorithms={ED25519})
    assert r.ds() == new_ds
    r.finish()


RELOAD_BOUND = 5.0  # seconds a SIGHUP has to show in /status


def test_timing_changed_in_files_and_sighup(rollover):
    """KSK + ZSK1 sign, ZSK2 is published with its activation a day away. dnssec-settime then
    moves ZSK2's Activate and ZSK1's Inactive a few seconds ahead (and sets ZSK1's Delete);
    after SIGHUP /status shows the new times and the signatures follow them."""
    r = rollover
    ksk = r.key("KSK")
    zsk1 = r.key("ZSK1", zsk=True)
    zsk2 = r.key("ZSK2", zsk=True, publish=r.t0, activate=r.at(86400))
    r.start()
    anchors = {"KSK DS": r.anchor("ksk", r.ds())}
    common = dict(anchors=anchors, key_signers={ksk.tag}, cds={ksk.tag})
    keys = {ksk.tag, zsk1.tag, zsk2.tag}
    r.step("as generated", until=r.at(86400), dnskeys=keys, zone_signers={zsk1.tag}, **common)

    switch = int(time.time()) + SWITCH
    remove = switch + (REMOVE - SWITCH)
    settime(zsk2, activate=switch)
    settime(zsk1, inactive=switch, delete=remove)
    reloads = admin_json(r.srv, "GET", "/status")["reloads"]["succeeded"]
    r.srv.proc.send_signal(signal.SIGHUP)

    def reloaded():
        s = {k["tag"]: k for k in r.status()["keys"]}
        return s[zsk2.tag]["activate"] == switch and s[zsk1.tag]["inactive"] == switch \
            and s[zsk1.tag]["delete"] == remove
    assert wait_for(reloaded, timeout=RELOAD_BOUND), \
        f"/status does not show the new times within {RELOAD_BOUND} s of SIGHUP: {r.status()}\n{r.srv.describe()}"
    assert admin_json(r.srv, "GET", "/status")["reloads"]["succeeded"] > reloads
    assert r.status()["next_signing"] <= switch, f"the next signing is not at the new event: {r.status()}"

    r.step("reloaded, ZSK1 still signs", until=switch, dnskeys=keys, zone_signers={zsk1.tag}, **common)
    r.wait_event(switch)
    r.step("ZSK2 signs from the new time", until=remove, dnskeys=keys, zone_signers={zsk2.tag}, **common)
    r.wait_event(remove)
    r.step("ZSK1 deleted at the new time", until=remove + 3600, dnskeys={ksk.tag, zsk2.tag},
           zone_signers={zsk2.tag}, **common)
    r.finish()
