"""What bench/report and bench/sinks-report share: reading the lines the
guest programs print (key=value, values in double quotes may hold spaces),
the results' TSV files, medians, paired runs, and the lines every benchmark
document starts with (how, when and where it was measured)."""
import os
import re
import statistics
from collections import OrderedDict


def parse_line(line):
    """{key: value} of a program's summary line."""
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}


def num(kv, key):
    """@key of a parse_line() result as a float; None if absent or not a
    number."""
    try:
        return float(kv[key])
    except (KeyError, ValueError):
        return None


def median(xs):
    """Median of the values that are not None; None if there are none."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def read_rows(path):
    """Every row of a TSV file with a header line, as {column: field}; rows
    with another number of fields (a run cut off mid-line) are left out."""
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for raw in f:
            parts = raw.rstrip("\n").split("\t")
            if len(parts) == len(header):
                yield dict(zip(header, parts))


def read_meta(path):
    """(meta, lines) of a *-meta.tsv file (name, then one or more fields):
    meta maps each name to its fields joined by tabs, the last line of a name
    winning; lines lists every line's fields, for names given more than once
    (bench/run's "module" and "source"). Both empty if there is no file."""
    meta = OrderedDict()
    lines = []
    if not os.path.exists(path):
        return meta, lines
    with open(path) as f:
        for raw in f:
            parts = raw.rstrip("\n").split("\t")
            if len(parts) >= 2:
                meta[parts[0]] = "\t".join(parts[1:])
                lines.append(parts)
    return meta, lines


def paired_losses(ours, ref, worse):
    """(k, n): of the n repetitions both ran (same boot, same repetition
    number: {rep: figure} each), the k in which worse(ours, ref) holds. A
    loss in every pair points at our code; one in some pairs only may be the
    variation between runs."""
    reps = set(ours) & set(ref)
    return sum(1 for r in reps if worse(ours[r], ref[r])), len(reps)


def setup_lines(host, guest):
    """The document's opening list: command, date, guest and host, from the
    host's and the guest's meta (read_meta())."""
    kv = parse_line(host.get("settings", ""))
    return [
        "- Command: `%s`" % host.get("command", "?"),
        "- Date: %s" % host.get("date", "?"),
        "- Guest kernel: %s (`%s`%s), %s CPUs (qemu `-cpu %s`), %s MB, %s" % (
            guest.get("kernel", "?"), host.get("kernel_name", "?"),
            " booted with `%s`" % host["append"] if host.get("append") else "",
            guest.get("cpus", "?"), kv.get("cpu", "max"),
            int(guest.get("mem_kb", "0") or 0) // 1024, (host.get("accel") or "?").upper()),
        "- Host: %s%s; %s; host load average before/after: %s / %s; other VMs running at the "
        "start: %s" % (host.get("host", "?"),
                       " (%s)" % host["host_cpu"] if host.get("host_cpu") else "",
                       host.get("qemu", "?"), host.get("load_before", "?"),
                       host.get("load_after", "?"), host.get("other_vms_before", "?")),
    ]
