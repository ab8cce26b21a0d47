// Validates rendered Kubernetes manifests offline (no cluster):
//   1. every object against the JSON schema of its apiVersion/kind (kubernetes-models for the
//      built-in kinds, @kubernetes-models/keda and /prometheus-operator for the CRDs); a kind
//      without a schema is an error, never a silent pass;
//   2. strictly: a field the schema does not know (a typo such as `livenesProbe`) is an error,
//      as with `kubectl apply --validate=strict`;
//   3. inferline's own rules (policy.mjs): restricted pod security, resources and probes,
//      references between objects, secrets never inline.
// Usage: node validate.mjs [--secrets FILE]... [--provided-secret NAME:KEY]... FILE...
//   FILE: multi-document YAML (kubectl kustomize output); "-" reads standard input.
//   --secrets: YAML with the Secrets that make-secrets.sh generates (checked against every
//   secretKeyRef); --provided-secret: a secret key made some other way.
// Exit status 0 when everything is valid, 1 with one line per problem otherwise.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { checkPolicy } from "./policy.mjs";

// apiVersion group -> the package whose models hold its schemas.
const kPackages = {
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function modelClass(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const pkg = kPackages[group] ?? "kubernetes-models";
  const path = `${pkg}/${apiVersion}/${kind}`;  // core group: kubernetes-models/v1/Service
  try {
    const mod = await import(path);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

// Wraps a document so that the schema validator's reads are recorded: for every object node,
// the keys it looked up, and whether it enumerated the keys (a map or additionalProperties).
function recordingProxy(value, seen) {
  if (value === null || typeof value !== "object") return value;
  const info = { read: new Set(), enumerated: false };
  seen.set(value, info);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") info.read.add(key);
      return recordingProxy(Reflect.get(target, key, receiver), seen);
    },
    has(target, key) {
      if (typeof key === "string") info.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      info.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

// Keys of objects the schema describes (it read some of their keys) that it never looked at.
// Objects it did not look into at all are free-form in the schema (e.g. CRD metadata).
function unknownFields(value, seen, path, out) {
  if (value === null || typeof value !== "object") return;
  const info = seen.get(value);
  if (!info) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, seen, `${path}[${i}]`, out));
    return;
  }
  const described = info.enumerated || info.read.size > 0;
  for (const [k, v] of Object.entries(value)) {
    if (described && !info.enumerated && !info.read.has(k)) out.push(`${path}.${k}`);
    unknownFields(v, seen, `${path}.${k}`, out);
  }
}

async function validateSchema(doc, where, problems) {
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    problems.push(`${where}: no apiVersion/kind`);
    return;
  }
  const Cls = await modelClass(apiVersion, kind);
  if (!Cls) {
    problems.push(`${where}: no schema for ${apiVersion} ${kind}`);
    return;
  }
  const seen = new Map();
  const plain = JSON.parse(JSON.stringify(doc));
  try {
    Cls.prototype.validate.call(recordingProxy(plain, seen));
  } catch (e) {
    problems.push(`${where}: ${e.message}`);
    return;
  }
  const unknown = [];
  unknownFields(plain, seen, "", unknown);
  for (const f of unknown) problems.push(`${where}: unknown field ${f.slice(1)}`);
}

function readDocs(file, problems) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  const docs = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) {
      problems.push(`${file}: YAML: ${d.errors[0].message}`);
      continue;
    }
    const js = d.toJS();
    if (js !== null && js !== undefined) docs.push(js);
  }
  return docs;
}

async function main(argv) {
  const files = [];
  const secretFiles = [];
  const provided = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--secrets") secretFiles.push(argv[++i]);
    else if (argv[i] === "--provided-secret") provided.push(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0) {
    console.error("usage: node validate.mjs [--secrets FILE] [--provided-secret NAME:KEY] FILE...");
    return 2;
  }
  const problems = [];
  const docs = [];
  for (const f of files) {
    for (const d of readDocs(f, problems)) docs.push({ doc: d, file: f });
  }
  const secrets = secretFiles.flatMap((f) => readDocs(f, problems));
  for (const s of secrets) await validateSchema(s, `secret ${s?.metadata?.name}`, problems);
  for (const { doc, file } of docs) {
    await validateSchema(doc, `${file}: ${doc.kind}/${doc?.metadata?.name}`, problems);
  }
  checkPolicy(docs.map((d) => d.doc), { secrets, provided }, problems);
  for (const p of problems) console.log(p);
  const kinds = new Set(docs.map((d) => `${d.doc.apiVersion} ${d.doc.kind}`));
  console.error(`validate: ${docs.length} objects (${kinds.size} kinds), ${problems.length} problems`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
