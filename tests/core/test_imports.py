"""The shared parts of an import's life cycle that need no model: the dry run's preview
and the rewriting of a kept report."""

from apps.core.imports import REJECTED_SHOWN, dry_run_preview, report_lines, report_rewrite
from apps.core.spreadsheets import csv_line


def test_a_dry_run_counts_every_result_and_shows_the_first_rejected_rows():
    decided = [(n, "rejected" if n % 2 else "created") for n in range(2 * REJECTED_SHOWN + 10)]

    preview = dry_run_preview(
        decided,
        results=("created", "merged", "rejected"),
        rejected_as="rejected_rows",
        describe=lambda n: {"row": n},
    )

    assert (preview["created"], preview["merged"], preview["rejected"]) == (
        REJECTED_SHOWN + 5,
        0,
        REJECTED_SHOWN + 5,
    )
    assert preview["rejected_rows"] == [{"row": 2 * n + 1} for n in range(REJECTED_SHOWN)]


def test_a_dry_run_of_nothing_counts_zero_of_each():
    preview = dry_run_preview([], results=("a", "rejected"), rejected_as="shown", describe=str)

    assert preview == {"a": 0, "rejected": 0, "shown": []}


def test_a_report_is_rewritten_line_by_line_and_stays_safe():
    report = csv_line(["2", "13800138000", "张三", "x"]) + csv_line(["3", "=1+1", "李四", "y"])

    def forget(line):
        if line[0] == "2":
            line[1] = line[2] = ""
        return line

    rewritten = report_rewrite(report, forget)

    assert list(report_lines(rewritten)) == [["2", "", "", "x"], ["3", "'=1+1", "李四", "y"]]
    assert report_rewrite(rewritten, lambda line: line) == rewritten
