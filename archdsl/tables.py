"""The summary as a table (layer, op, output shape, memory, params, FLOPs; then the totals and
the training step's sizes), as cells, aligned text, or HTML for notebooks. The command
prints it (`archdsl summary`), `Network._repr_html_` shows it; neither needs rich."""
from __future__ import annotations

from .units import bytes_text, count_text

COLUMNS = (("layer", "<"), ("op", "<"), ("output", "<"), ("memory KiB", ">"), ("params", ">"),
           ("flops", ">"))

SIZE_LABELS = (("input", "input size"), ("params", "params size"),
               ("forward_backward", "forward/backward size"), ("total", "estimated total"))


def _kib(n: int) -> str:
    kib = n / 1024
    return f"{kib:,.2f}".rstrip("0").rstrip(".") if kib % 1 else f"{int(kib):,}"


def title(summary: dict) -> str:
    return f"{summary['network']}  input {'x'.join(map(str, summary['input']))}"


def cells(summary: dict, rows: list) -> tuple:
    """(body, total): one tuple of COLUMNS' texts per row, and the total row."""
    body = [(r["name"] + (" (aux)" if r.get("aux") else ""), r["op"],
             "x".join(map(str, r["shape"])), _kib(r["memory"]), f"{r['params']:,}",
             f"{r['flops']:,}") for r in rows]
    tot = summary["total"]
    total = ("total", "", "", _kib(tot["memory"]), f"{tot['params']:,}", f"{tot['flops']:,}")
    return body, total


def counts_line(summary: dict) -> str:
    tot = summary["total"]
    return (f"params {tot['params']:,} ({count_text(tot['params'])})   "
            f"flops {tot['flops']:,} ({count_text(tot['flops'])} multiply-adds)   "
            f"macs {tot['macs']:,} ({count_text(tot['macs'])}), per sample")


def size_lines(summary: dict) -> list:
    """The training step's sizes, aligned: a heading, then one line per size."""
    batch, dtype = summary.get("batch", 1), summary.get("dtype", "float32")
    sizes = summary["sizes"]
    texts = [(label, bytes_text(sizes[key])) for key, label in SIZE_LABELS]
    w0 = max(len(a) for a, _ in texts)
    w1 = max(len(b) for _, b in texts)
    lines = [f"a training step on a batch of {batch} in {dtype}:"]
    lines += [f"  {a:<{w0}}  {b:>{w1}}" for a, b in texts]
    return lines


def text(summary: dict, rows: list) -> str:
    """The table as aligned text: for pipes and files, and fast on big networks (rich takes
    about a millisecond per row)."""
    body, total = cells(summary, rows)
    table = [tuple(c for c, _ in COLUMNS)] + body + [total]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]

    def line(row):
        return "  ".join(f"{cell:{just}{w}}" for cell, (_, just), w in zip(row, COLUMNS, widths))
    rule = "-" * len(line(table[0]))
    out = [title(summary), line(table[0]), rule]
    out += [line(r) for r in body] + [rule, line(total)]
    return "\n".join(out) + "\n"


def to_html(summary: dict, rows: list) -> str:
    """The table as one HTML <table> (a caption, the rows, the totals and the sizes in its
    footer): what a notebook shows for a Network."""
    import html  # here, not at the top: its entity table is 2 ms of every start
    e = html.escape
    body, total = cells(summary, rows)
    align = ["left" if just == "<" else "right" for _, just in COLUMNS]

    def row(cells_, tag="td"):
        return "<tr>" + "".join(f'<{tag} style="text-align:{a}">{e(c)}</{tag}>'
                                for c, a in zip(cells_, align)) + "</tr>"
    head = row([c for c, _ in COLUMNS], "th")
    n = len(COLUMNS)
    foot = [row(total)]
    foot.append(f'<tr><td colspan="{n}" style="text-align:left">{e(counts_line(summary))}'
                "</td></tr>")
    sizes = size_lines(summary)
    foot.append(f'<tr><td colspan="{n}" style="text-align:left">{e(sizes[0])}</td></tr>')
    for key, label in SIZE_LABELS:
        foot.append(f'<tr><td colspan="{n - 1}" style="text-align:left">{e(label)}</td>'
                    f'<td style="text-align:right">{e(bytes_text(summary["sizes"][key]))}'
                    "</td></tr>")
    return ('<table class="archdsl-summary">'
            f'<caption style="text-align:left">{e(title(summary))}</caption>'
            f"<thead>{head}</thead><tbody>{''.join(row(b) for b in body)}</tbody>"
            f"<tfoot>{''.join(foot)}</tfoot></table>")
