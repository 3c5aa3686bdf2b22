"""Checks for infra/helm-check that need more than a shell: the rendered manifests'
custom resources, the Ingress path map against the services' routes, and the metric
names the alerts and dashboards read against the ones the code exports."""

import json
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

SERVICES = ("intake", "routing", "notification", "analytics")


def docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def manifests(path, promtool):
    """Custom resources kubernetes-validate has no schema for, and the pod basics."""
    alerts = yaml.safe_load(pathlib.Path("infra/observability/alerts.yaml").read_text())
    rendered = docs(path)
    kinds = sorted({d["kind"] for d in rendered})
    print(f"{pathlib.Path(path).stem}: {len(rendered)} manifests valid ({', '.join(kinds)})")
    for d in rendered:
        kind, name = d["kind"], d["metadata"]["name"]
        if kind == "PrometheusRule":
            if d["spec"] != alerts:
                fail(f"{path}: PrometheusRule {name} differs from infra/observability/alerts.yaml")
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                yaml.safe_dump(d["spec"], f)
                f.flush()
                subprocess.run([promtool, "check", "rules", f.name], check=True, stdout=subprocess.DEVNULL)
        elif kind == "ServiceMonitor":
            spec = d["spec"]
            if not spec.get("selector", {}).get("matchLabels") or not spec.get("endpoints"):
                fail(f"{path}: ServiceMonitor {name} has no selector or endpoints")
            for e in spec["endpoints"]:
                if e.get("port") != "metrics":
                    fail(f"{path}: ServiceMonitor {name} scrapes port {e.get('port')}, not metrics")
        elif kind == "ConfigMap" and "grafana_dashboard" in d["metadata"].get("labels", {}):
            for key, text in d["data"].items():
                json.loads(text)
        elif kind in ("Deployment", "Job"):
            pod = d["spec"]["template"]["spec"]
            if not pod["securityContext"].get("runAsNonRoot"):
                fail(f"{path}: {kind} {name} may run as root")
            for c in pod["containers"]:
                sc = c["securityContext"]
                if sc.get("allowPrivilegeEscalation") is not False or not sc.get("readOnlyRootFilesystem") \
                        or sc.get("capabilities", {}).get("drop") != ["ALL"]:
                    fail(f"{path}: {kind} {name} container {c['name']} is not locked down")
                if not any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", [])):
                    fail(f"{path}: {kind} {name} has no writable /tmp for spooled uploads")
                if kind == "Deployment":
                    probes = (c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"])
                    if probes != ("/healthz", "/readyz"):
                        fail(f"{path}: {kind} {name} probes {probes}")


ROUTE = re.compile(r'\.(?:route|nest|route_service|nest_service)\(\s*"(/[^"]*)"')


def declared_routes(services_dir):
    """(path, service) for every literal path a service's router declares."""
    for service in SERVICES:
        for source in sorted(pathlib.Path(services_dir, service, "src").rglob("*.rs")):
            text = source.read_text(encoding="utf-8")
            # Unit tests build their own routers.
            text = text.split("#[cfg(test)]")[0]
            for m in ROUTE.finditer(text):
                yield m.group(1), service, source
            # A path held in a constant: `.route(PATH, …)` with `const PATH: &str = "/…";`.
            consts = dict(re.findall(r'const ([A-Z_]+): &str = "(/[^"]*)";', text))
            for name in re.findall(r"\.route\(\s*([A-Z_]+)\s*,", text):
                if name not in consts:
                    fail(f"{source}: .route({name}, …) names no path constant in the same file")
                yield consts[name], service, source


def backend_for(paths, request):
    """Kubernetes Ingress matching: an Exact path wins; otherwise the longest Prefix
    whose elements start the request's elements."""
    for p in paths:
        if p["pathType"] == "Exact" and p["path"] == request:
            return p["service"]
    best = None
    parts = request.rstrip("/").split("/")
    for p in paths:
        if p["pathType"] != "Prefix":
            continue
        prefix = p["path"].rstrip("/").split("/")
        if parts[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[0])):
            best = (prefix, p["service"])
    return best and best[1]


def routes(rendered, services_dir):
    ingress = [d for d in docs(rendered) if d["kind"] == "Ingress"]
    if len(ingress) != 1:
        fail(f"{rendered}: expected one Ingress")
    paths = []
    for rule in ingress[0]["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            service = p["backend"]["service"]["name"].rsplit("-", 1)[1]
            paths.append({"path": p["path"], "pathType": p["pathType"], "service": service})
    seen = set()
    for p in paths:
        key = (p["path"], p["pathType"])
        if key in seen:
            fail(f"the path map lists {key} twice")
        seen.add(key)
    checked = 0
    for route, owner, source in declared_routes(services_dir):
        request = re.sub(r"\{[^}]+\}", "x", route)
        got = backend_for(paths, request)
        if got != owner:
            fail(f"{route} ({source}) is served by {owner}, but the Ingress sends it to {got}")
        checked += 1
    # Paths the design names that no router declares yet still go to their owner.
    for request, owner in (("/open311/v2/requests.json", "intake"), ("/static/admin-rules/1/a.css", "routing"),
                           ("/static/intake/1/a.css", "intake"), ("/static/notification/1/a.js", "notification"),
                           ("/static/analytics/1/a.js", "analytics"), ("/static/admin/1/a.css", "routing")):
        if backend_for(paths, request) != owner:
            fail(f"{request} should go to {owner}")
    print(f"{checked} routes, each sent to its service by {len(paths)} Ingress paths")


METRIC = re.compile(r"\b(mashang_[a-z0-9_]+)")
EXPORTED = re.compile(r'(?:counter|gauge|histogram)!\(\s*"(mashang_[a-z0-9_]+)"')


def observability(folder, *code_dirs):
    exported = set()
    for d in code_dirs:
        for source in pathlib.Path(d).rglob("*.rs"):
            exported.update(EXPORTED.findall(source.read_text(encoding="utf-8")))
    folder = pathlib.Path(folder)

    def known(name):
        return re.sub(r"_(bucket|sum|count)$", "", name) in exported

    rules = yaml.safe_load((folder / "alerts.yaml").read_text())
    for group in rules["groups"]:
        pending = group["name"] == "mashang.needs-new-metrics"
        for rule in group["rules"]:
            names = set(METRIC.findall(rule["expr"]))
            missing = {n for n in names if not known(n)}
            if pending:
                if rule.get("labels", {}).get("needs_metric") != "true":
                    fail(f"{rule['alert']} is in the needs-new-metrics group without needs_metric")
                if not missing:
                    fail(f"{rule['alert']} reads only exported metrics: move it out of {group['name']}")
            elif missing:
                fail(f"{rule['alert']} reads metrics the code does not export: {sorted(missing)}")
    tests = yaml.safe_load((folder / "alerts.test.yaml").read_text(encoding="utf-8"))
    tested = {t["alertname"] for test in tests["tests"] for t in test.get("alert_rule_test", []) if t["exp_alerts"]}
    untested = {r["alert"] for g in rules["groups"] for r in g["rules"]} - tested
    if untested:
        fail(f"alerts no test in alerts.test.yaml sees firing: {sorted(untested)}")
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] not in readme:
                fail(f"{rule['alert']} is not described in {folder}/README.md")

    for name in ("system", "business"):
        dashboard = json.loads((folder / "grafana" / f"{name}.json").read_text(encoding="utf-8"))
        if not isinstance(dashboard.get("schemaVersion"), int):
            fail(f"{name}.json has no schemaVersion")
        variables = dashboard["templating"]["list"]
        if not any(v["type"] == "datasource" and v["query"] == "prometheus" for v in variables):
            fail(f"{name}.json has no Prometheus datasource variable")
        ids = set()
        for panel in dashboard["panels"]:
            if panel["id"] in ids:
                fail(f"{name}.json repeats panel id {panel['id']}")
            ids.add(panel["id"])
            for target in panel.get("targets", []):
                missing = {n for n in METRIC.findall(target["expr"]) if not known(n)}
                if missing:
                    fail(f"{name}.json panel {panel['title']!r} reads unexported {sorted(missing)}")
    print(f"alerts and dashboards read only the {len(exported)} exported metrics (or are marked as waiting for one)")


def readme(chart):
    """Every value in values.yaml is listed in the chart's README (itself or a parent)."""
    chart = pathlib.Path(chart)
    values = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    listed = set(re.findall(r"^\| `([A-Za-z0-9_.]+)` \|", (chart / "README.md").read_text(encoding="utf-8"), re.M))

    def leaves(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                yield from leaves(value, path + ".")
            else:
                yield path

    def covered(path):
        parts = path.split(".")
        return any(".".join(parts[:i]) in listed for i in range(1, len(parts) + 1))

    missing = []
    for path in leaves(values):
        first, *rest = path.split(".")
        if first == "services":
            path = ".".join(rest[1:])
        elif first == "allInOne":
            path = ".".join(rest)
        if not covered(path):
            missing.append(path)
    if missing:
        fail(f"values missing from {chart}/README.md: {sorted(set(missing))}")
    print(f"every value is listed in {chart}/README.md")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"manifests": manifests, "routes": routes, "observability": observability, "readme": readme}[command](*args)
