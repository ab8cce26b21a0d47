// Checks of deploy/monitoring used by tests/deploy:
//   node monitoring.mjs rules-equal ALERTS.yml PROMETHEUS_RULE.yaml
//       exit 1 unless the PrometheusRule's spec.groups equal the rule file's groups;
//   node monitoring.mjs dashboard-rules DASHBOARD.json
//       prints a Prometheus rule file with one recording rule per dashboard query (Grafana's
//       variables replaced), so that `promtool check rules` parses every query;
//   node monitoring.mjs metric-names FILE...
//       prints, one per line, the metric names that the expressions in alert rule files (.yml,
//       .yaml) and Grafana dashboards (.json) read.
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parse, stringify } from "yaml";

const kKeywords = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                           "group_right", "bool", "offset", "inf", "nan", "atan2"]);

// Grafana variables -> values PromQL accepts.
function substituteVariables(expr) {
  return expr.replaceAll("$__rate_interval", "5m").replaceAll("$__interval", "1m")
             .replace(/\$\{?(\w+)\}?/g, ".*");
}

function dashboardQueries(file) {
  const dash = JSON.parse(readFileSync(file, "utf8"));
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    const m = /^label_values\((.+),\s*\w+\)$/.exec(q ?? "");
    if (m) out.push({ panel: `variable ${v.name}`, expr: m[1] });
  }
  return out;
}

function ruleExpressions(file) {
  const doc = parse(readFileSync(file, "utf8"));
  return (doc.groups ?? []).flatMap((g) => g.rules.map((r) => String(r.expr)));
}

// Metric names in a PromQL expression: identifiers that are not functions, keywords, label
// names or durations.
export function metricNames(expr) {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\{[^}]*\}/g, " ").replace(/\[[^\]]*\]/g, " ");
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || kKeywords.has(m[0])) continue;
    if (m.index > 0 && /[0-9.]/.test(s[m.index - 1])) continue;  // 1e9, 5m
    names.add(m[0]);
  }
  return names;
}

function main([command, ...files]) {
  if (command === "rules-equal") {
    const a = parse(readFileSync(files[0], "utf8")).groups;
    const b = parse(readFileSync(files[1], "utf8")).spec?.groups;
    if (isDeepStrictEqual(a, b)) return 0;
    console.log(`${files[1]}: spec.groups differ from ${files[0]}`);
    return 1;
  }
  if (command === "dashboard-rules") {
    const rules = dashboardQueries(files[0]).map((q, i) => ({
      record: `dashboard:query_${i}`, expr: substituteVariables(q.expr) }));
    process.stdout.write(stringify({ groups: [{ name: "dashboard", rules }] }));
    return rules.length > 0 ? 0 : 1;
  }
  if (command === "metric-names") {
    const all = new Set();
    for (const f of files) {
      const exprs = f.endsWith(".json") ? dashboardQueries(f).map((q) => substituteVariables(q.expr))
                                        : ruleExpressions(f);
      for (const e of exprs) for (const n of metricNames(e)) all.add(n);
    }
    for (const n of [...all].sort()) console.log(n);
    return all.size > 0 ? 0 : 1;
  }
  console.error("usage: node monitoring.mjs rules-equal|dashboard-rules|metric-names FILE...");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
