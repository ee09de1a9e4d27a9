"""Importing a markdown runbook: what each markdown construct becomes, read back through the
real loader (``load_runbook``) and the cockpit's own placeholder scanner; no parser mocked."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from cockpit.durations import Budget
from cockpit.errors import CockpitError
from cockpit.mdbudget import budget_of
from cockpit.mdimport import drift, import_markdown
from cockpit.mdshell import commands_of, escape_command
from cockpit.placeholders import fill_text, names_in, substitute
from cockpit.runbook import Runbook, load_runbook

SHIPPED_MD = Path(__file__).resolve().parents[1] / "data" / "release-management-runbook.md"

DEVOPS = """\
# Payments API — Deploy Runbook

Owner: platform team. Target: the whole deploy in under 30 minutes.

## Deploy

The deploy takes 30 minutes end to end; roll back if any check fails.

### Pre-flight checks (5 minutes)

- [ ] On-call engineer is online in #payments-ops
- [ ] No open **SEV-1** or SEV-2 incident ([status page](https://status.example.com))
- [x] Change ticket `CHG-1234` approved

### Build and push (10 min)

```bash
$ export TAG="$(git rev-parse --short HEAD)"
$ docker build -t registry.example.com/payments-api:${TAG} .
$ docker push registry.example.com/payments-api:${TAG}
```

### Roll out (15 minutes)

```sh
kubectl -n payments set image deploy/payments-api \\
  api=registry.example.com/payments-api:${TAG}
kubectl -n payments rollout status deploy/payments-api --timeout=10m
# health must answer 200
curl -f https://payments.example.com/health
test "$(curl -s -o /dev/null -w '%{http_code}' https://payments.example.com/health)" = 200
```

- [ ] Error rate below 1% on the dashboard
- [ ] p95 latency under 300ms

## Rollback

### Decide (5 min)

- [ ] Incident commander decides to roll back
- [ ] Decision posted in #payments-ops

### Undo the rollout (2-4 hours)

```bash
kubectl -n payments rollout undo deploy/payments-api
kubectl -n payments rollout status deploy/payments-api
curl -f https://payments.example.com/health
```
"""
"""A DevOps team's deploy/rollback runbook: checkboxes, fenced shell blocks, timed headings."""

MOBILE = """\
# Android app release

How we ship the Android app to the Play Store. Versions look like `10.0` and `10.1`.

## Release branch

### Cut the branch

- Create the branch: `git checkout -b release/10.0 origin/main`
- Bump `versionName` to `10.0` in `app/build.gradle`
- Tell QA the branch is cut
- Push it with `git push -u origin release/10.0`

### Build

Build the signed bundle:

```
./gradlew clean bundleRelease
```

## QA

| Device | OS | Owner |
|--------|----|-------|
| Pixel 8 | Android 15 | Ana |
| Galaxy S23 | Android 14 | Ben |

- Run the smoke suite with `./gradlew connectedCheck`
- Check that crash-free users stay above 99.5% in `Crashlytics`
- Ask design for a final look

#### Sign-off

- QA lead signs the release in `RELEASES.md`

## Store rollout

Roll out in stages; stop at any spike in crashes.

### 10.0

- Upload with `fastlane supply --track internal --aab app-release.aab`
- Promote from `internal` to `production` at 10%
- Watch the reviews for a day

```
Release 10.0 is live for 10% of users.
```
"""
"""A mobile team's runbook: plain bullets with inline code, versions like 10.0, deeper
headings, a table, a message template in an unlabelled block."""


def line_of(markdown: str, needle: str) -> int:
    """The 1-based line of ``markdown`` that holds ``needle`` (the first one)."""
    return next(n for n, line in enumerate(markdown.splitlines(), 1) if needle in line)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def texts(runbook: Runbook) -> list[str]:
    return [e.item.text for p in runbook.phases.values() for e in p.entries()]


def test_the_shipped_markdown_imports_every_checklist_line(tmp_path):
    summary = import_markdown(SHIPPED_MD, tmp_path / "runbook")
    runbook = load_runbook(tmp_path / "runbook", None)
    wanted = re.findall(r"^\s*- \[ \] (.+)$", SHIPPED_MD.read_text(), flags=re.M)
    assert len(wanted) == 99
    have = Counter(texts(runbook))
    assert not Counter(wanted) - have  # every line, duplicates ("Documentation updated") too
    assert (summary.phases, summary.items, summary.steps) == (5, 106, 19)
    assert [f.name for f in summary.files] == [
        "10-pre-release-gates.yaml",
        "20-production-release-process.yaml",
        "30-hotfix-process.yaml",
        "40-rollback-procedures.yaml",
        "50-version-management.yaml",
    ]
    assert list(runbook.phases) == [f.name[3:-5] for f in summary.files]
    deploy = runbook.phase("production-release-process")
    app = next(s for s in deploy.steps if s.title == "Application Deployment")
    assert app.budget == Budget.parse("20m")
    assert [c.run for c in app.commands] == [
        "gh workflow run deploy-production.yml --ref main --field confirm_production=true "
        "--field git_ref=main"
    ]
    hotfix = runbook.phase("hotfix-process")
    development = next(s for s in hotfix.steps if s.title == "Hotfix Development")
    assert development.budget == Budget.parse("2h-4h")
    assert development.checks[0].text == "Root cause identified"
    gates = runbook.phase("pre-release-gates")
    assert (
        gates.sections[0].title
        == "Automated Gates (Required for all releases): Code Quality Checks"
    )
    # the sections with nothing to tick are said, by line, not imported
    assert (16, "“Overview” has nothing to tick (1 paragraph, 1 list, 1 table): not imported") in (
        summary.unplaced
    )
    assert (544, "markdown code block: not placed") in summary.unplaced


def test_a_devops_runbook_of_checkboxes_and_shell_blocks(tmp_path):
    source = write(tmp_path, "DEPLOY.md", DEVOPS)
    summary = import_markdown(source, tmp_path / "out")
    runbook = load_runbook(tmp_path / "out", None)
    assert [f.name for f in summary.files] == ["10-deploy.yaml", "20-rollback.yaml"]
    deploy, rollback = runbook.phases.values()
    assert deploy.summary == "The deploy takes 30 minutes end to end; roll back if any check fails."
    assert [(s.id, s.title, str(s.budget)) for s in deploy.steps] == [
        ("pre-flight-checks", "Pre-flight checks", "5m"),
        ("build-and-push", "Build and push", "10m"),
        ("roll-out", "Roll out", "15m"),
    ]
    preflight, build, roll_out = deploy.steps
    assert [c.text for c in preflight.checks] == [
        "On-call engineer is online in #payments-ops",
        "No open SEV-1 or SEV-2 incident (status page)",
        "Change ticket CHG-1234 approved",
    ]
    assert [c.run for c in build.commands] == [  # the $ prompts dropped
        'export TAG="$(git rev-parse --short HEAD)"',
        "docker build -t registry.example.com/payments-api:${TAG} .",
        "docker push registry.example.com/payments-api:${TAG}",
    ]
    runs = [c.run for c in roll_out.commands]
    assert runs[0] == (  # the backslash-continued line joined; the comment line dropped
        "kubectl -n payments set image deploy/payments-api "
        "api=registry.example.com/payments-api:${TAG}"
    )
    assert len(runs) == 4 and runs[2] == "curl -f https://payments.example.com/health"
    assert "'%{{http_code}}'" in runs[3]
    assert [c.text for c in roll_out.checks] == [
        "Error rate below 1% on the dashboard",
        "p95 latency under 300ms",
    ]
    assert [(s.title, str(s.budget)) for s in rollback.steps] == [
        ("Decide", "5m"),
        ("Undo the rollout", "2h–4h"),
    ]
    ids = [e.item.id for p in runbook.phases.values() for e in p.entries()]
    assert len(ids) == len(set(ids)) == 7
    assert summary.unplaced == [
        (1, "“Payments API — Deploy Runbook” has nothing to tick (1 paragraph): not imported")
    ]


def test_a_mobile_runbook_of_plain_bullets_with_code_and_a_table(tmp_path):
    source = write(tmp_path, "RELEASE.md", MOBILE)
    summary = import_markdown(source, tmp_path / "out")
    runbook = load_runbook(tmp_path / "out", None)
    assert list(runbook.phases) == ["release-branch", "qa", "store-rollout"]
    branch, qa, store = runbook.phases.values()
    assert [(s.title, [i.text for i in s.items]) for s in branch.sections] == [
        (
            "Cut the branch",
            [
                "Create the branch: git checkout -b release/10.0 origin/main",
                "Bump versionName to 10.0 in app/build.gradle",
                "Push it with git push -u origin release/10.0",
            ],
        )
    ]
    assert [(s.title, [c.run for c in s.commands]) for s in branch.steps] == [
        ("Build the signed bundle", ["./gradlew clean bundleRelease"])
    ]
    assert [s.title for s in qa.sections] == ["QA", "Sign-off"]
    assert store.sections[0].title == "10.0"  # a version stays text, never the number 10
    assert store.summary == "Roll out in stages; stop at any spike in crashes."
    assert [i.text for i in store.sections[0].items][
        1
    ] == "Promote from internal to production at 10%"
    table = line_of(MOBILE, "| Device |")
    assert summary.tables == 1
    assert summary.unplaced == [
        (1, "“Android app release” has nothing to tick (1 paragraph): not imported"),
        (line_of(MOBILE, "Tell QA"), "bullet without a checkbox or inline code: not placed"),
        (table, "table (2 rows) kept as a note in 20-qa.yaml"),
        (line_of(MOBILE, "Ask design"), "bullet without a checkbox or inline code: not placed"),
        (line_of(MOBILE, "Watch the"), "bullet without a checkbox or inline code: not placed"),
        (
            line_of(MOBILE, "Release 10.0 is live") - 1,
            "code block (not shell commands): not placed",
        ),
    ]
    qa_file = (tmp_path / "out" / "20-qa.yaml").read_text()
    assert "#   | Pixel 8 | Android 15 | Ana |" in qa_file  # the table kept as a note


def test_item_ids_are_explicit_and_unique_when_texts_collide(tmp_path):
    long = "Verify that every regional payment gateway answers its health check within"
    source = write(
        tmp_path,
        "R.md",
        f"## Checks\n\n- [ ] {long} 2 seconds\n- [ ] {long} 5 seconds\n"
        "- [ ] Documentation updated\n- [ ] Documentation updated\n",
    )
    import_markdown(source, tmp_path / "out")
    data = yaml.safe_load((tmp_path / "out" / "10-checks.yaml").read_text())
    ids = [item["id"] for item in data["sections"][0]["items"]]
    assert ids[0] != ids[1] and ids[1].endswith("-2")
    assert ids[2:] == ["documentation-updated", "documentation-updated-2"]
    assert len(load_runbook(tmp_path / "out", None).phase("checks").sections[0].items) == 4


@pytest.mark.parametrize(
    "command",
    [
        "curl -s -o /dev/null -w '%{http_code}' https://example.com/health",
        'echo ${TAG} "${REGION:-eu}"',
        "echo '${TAG}'",
        "docker inspect -f '{{.State.Running}}' api",
        "awk '{if($3 > 1){print $1}}' access.log",
        "find . -name '*.tmp' -exec rm {} \\;",
        "{ date; uptime; } > status.txt",
        "cat <<EOF > note.txt\nDeployed ${TAG} by {user}\nEOF",
        "jq '.items[] | {name: .metadata.name}' pods.json",
    ],
)
def test_a_command_with_braces_runs_exactly_as_the_markdown_says(command):
    written = escape_command(command)
    assert written is not None
    assert names_in(written) == []  # no placeholder left in it
    assert substitute(written, {}) == command  # the cockpit's scanner reads it back as written


def test_braces_the_cockpit_cannot_write_become_a_check_to_run_by_hand(tmp_path):
    source = write(
        tmp_path, "R.md", "## Deploy\n\n```bash\necho ${{ secrets.TOKEN }}\nmake deploy\n```\n"
    )
    summary = import_markdown(source, tmp_path / "out")
    step = load_runbook(tmp_path / "out", None).phase("deploy").steps[0]
    assert [c.run for c in step.commands] == ["make deploy"]
    # written escaped; filled (as the cockpit shows texts) it reads as the markdown did
    assert [fill_text(c.text, {}) for c in step.checks] == [
        "Run by hand: echo ${{ secrets.TOKEN }}"
    ]
    assert summary.unplaced == [
        (
            4,
            "a command whose braces the cockpit cannot write as they are: kept as a check "
            "to run by hand",
        )
    ]


def test_braces_in_texts_are_shown_as_written(tmp_path):
    source = write(tmp_path, "R.md", "## Tag {version}\n\n- [ ] Tag `v{version}` on {{main}}\n")
    import_markdown(source, tmp_path / "out")
    raw = (tmp_path / "out" / "10-tag-version.yaml").read_text()
    assert "Tag v{{version}} on {{{{main}}}}" in raw
    assert "title: Tag {{version}}" in raw


@pytest.mark.parametrize(
    ("title", "cleaned", "budget"),
    [
        ("1. Pre-Deployment Validation (15 minutes)", "1. Pre-Deployment Validation", "15m"),
        ("Hotfix Development (2-4 hours)", "Hotfix Development", "2h-4h"),
        ("Immediate (0-2 hours)", "Immediate", "2h"),
        ("Smoke tests - 30 min", "Smoke tests", "30m"),
        ("Bake time 1h", "Bake time", "1h"),
        ("Canary (1h30m)", "Canary", "1h30m"),
        ("Database Rollback (if needed) (30 minutes)", "Database Rollback (if needed)", "30m"),
        ("Pre-Deployment (T-1 hour)", "Pre-Deployment (T-1 hour)", None),
        ("Release 10.0", "Release 10.0", None),
        ("Page loads (<3 seconds)", "Page loads (<3 seconds)", None),
    ],
)
def test_a_duration_in_a_title_becomes_the_budget(title, cleaned, budget):
    assert budget_of(title) == (cleaned, budget)
    if budget is not None:
        Budget.parse(budget)  # what the loader accepts


def test_commands_of_a_block_one_per_line_with_continuations_and_here_documents():
    block = (
        "# deploy\n"
        "helm upgrade api ./chart \\\n"
        "  --set image.tag=1.2.3\n"
        "\n"
        "cat <<'EOF' | kubectl apply -f -\n"
        "kind: ConfigMap\n"
        "# not a comment: part of the document\n"
        "EOF\n"
        "if curl -f https://example.com/ready; then\n"
        "  echo ready\n"
        "fi\n"
    )
    assert [c for _, c in commands_of(block, "bash")] == [
        "helm upgrade api ./chart --set image.tag=1.2.3",
        "cat <<'EOF' | kubectl apply -f -\nkind: ConfigMap\n# not a comment: part of the "
        "document\nEOF",
        "if curl -f https://example.com/ready; then\n  echo ready\nfi",
    ]
    session = "$ kubectl get pods\nNAME    READY\napi-1   1/1\n$ kubectl get svc\n"
    assert [c for _, c in commands_of(session, "console")] == [
        "kubectl get pods",
        "kubectl get svc",
    ]


def test_drift_lists_the_checklist_lines_missing_from_the_runbook(tmp_path):
    source = write(tmp_path, "DEPLOY.md", DEVOPS)
    import_markdown(source, tmp_path / "out")
    assert drift(source, load_runbook(tmp_path / "out", None)) == []
    path = tmp_path / "out" / "20-rollback.yaml"
    path.write_text(path.read_text().replace("Decision posted in #payments-ops", "Decision posted"))
    missing = drift(source, load_runbook(tmp_path / "out", None))
    assert missing == [
        (line_of(DEVOPS, "- [ ] Decision posted"), "Decision posted in #payments-ops")
    ]


def test_drift_compares_text_without_markdown_case_or_spacing(tmp_path):
    source = write(tmp_path, "R.md", "## A\n\n- [ ] Run `npm test`   with **coverage**\n")
    import_markdown(source, tmp_path / "out")
    path = tmp_path / "out" / "10-a.yaml"
    path.write_text(
        path.read_text().replace("Run npm test with coverage", "run NPM test with coverage")
    )
    assert drift(source, load_runbook(tmp_path / "out", None)) == []


def test_refuses_a_folder_that_holds_files_and_writes_nothing(tmp_path):
    source = write(tmp_path, "DEPLOY.md", DEVOPS)
    out = tmp_path / "runbook"
    out.mkdir()
    (out / "10-ours.yaml").write_text("id: ours\n")
    with pytest.raises(CockpitError, match="is not empty"):
        import_markdown(source, out)
    assert [p.name for p in out.iterdir()] == ["10-ours.yaml"]
    assert (out / "10-ours.yaml").read_text() == "id: ours\n"


def test_an_empty_folder_is_filled(tmp_path):
    source = write(tmp_path, "DEPLOY.md", DEVOPS)
    (tmp_path / "runbook").mkdir()
    summary = import_markdown(source, tmp_path / "runbook")
    assert summary.phases == 2


def test_a_markdown_with_nothing_to_tick_is_refused_and_nothing_written(tmp_path):
    source = write(tmp_path, "NOTES.md", "# Notes\n\nJust prose.\n\n- a plain bullet\n")
    with pytest.raises(CockpitError, match="nothing to import"):
        import_markdown(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unreadable_markdown_is_said_in_words(tmp_path):
    with pytest.raises(CockpitError, match="no such file"):
        import_markdown(tmp_path / "missing.md", tmp_path / "out")
    (tmp_path / "latin1.md").write_bytes("## Déploiement\n\n- [ ] Vérifier\n".encode("latin-1"))
    with pytest.raises(CockpitError, match=r"latin1.md:1: not UTF-8 text"):
        import_markdown(tmp_path / "latin1.md", tmp_path / "out")
    with pytest.raises(CockpitError, match="is a folder"):
        import_markdown(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_code_block_inside_a_checklist_item_is_a_step_titled_by_it(tmp_path):
    source = write(
        tmp_path,
        "R.md",
        "## Migrate\n\n- [ ] Announce the window\n- [ ] Run the migration:\n"
        "  ```bash\n  tsx scripts/migrate.ts --env PROD\n  ```\n- [ ] Check the logs\n",
    )
    import_markdown(source, tmp_path / "out")
    phase = load_runbook(tmp_path / "out", None).phase("migrate")
    assert [(s.title, [c.run for c in s.commands]) for s in phase.steps] == [
        ("Run the migration", ["tsx scripts/migrate.ts --env PROD"])
    ]
    assert [i.text for i in phase.sections[0].items] == [
        "Announce the window",
        "Run the migration:",
        "Check the logs",
    ]


def test_file_names_keep_document_order_past_nine_phases(tmp_path):
    names = ["Zeta", "Alpha", "Mu", "Beta", "Omega", "Kappa", "Eta", "Iota", "Chi", "Delta"]
    source = write(tmp_path, "R.md", "".join(f"## {n}\n\n- [ ] {n} done\n\n" for n in names))
    summary = import_markdown(source, tmp_path / "out")
    assert [f.name for f in summary.files][:2] == ["010-zeta.yaml", "020-alpha.yaml"]
    assert summary.files[-1].name == "100-delta.yaml"
    runbook = load_runbook(tmp_path / "out", None)
    assert [p.title for p in runbook.phases.values()] == names
