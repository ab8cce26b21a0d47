// inferline's rules for its rendered manifests, beyond the schemas (see validate.mjs):
//   - no Secret is rendered (credentials never live in the repository), no credential is an
//     inline environment value, and every secretKeyRef / TriggerAuthentication names a key that
//     make-secrets.sh (or --provided-secret) provides;
//   - every container (init containers too) meets the "restricted" Pod Security Standard and
//     has resource requests and a memory limit; long-running ones have liveness and readiness
//     probes;
//   - references resolve: Services, PDBs and ServiceMonitors select pods or Services that exist,
//     named ports exist, autoscalers target existing workloads (never both an HPA and a
//     ScaledObject), ConfigMaps and --config files exist, every inferline pod is under a
//     NetworkPolicy for ingress and egress;
//   - a worker's ScaledObject watches the queue and the backlog of the model the worker serves,
//     and the gateway accepts requests for that model.
import { parse } from "yaml";

const kWorkloads = new Set(["Deployment", "StatefulSet", "Job", "DaemonSet"]);
const kAllowedVolumes = ["configMap", "emptyDir", "secret", "persistentVolumeClaim", "projected",
                         "downwardAPI", "csi", "ephemeral"];
const kCredentialName = /(PASSWORD|SECRET|TOKEN|API_KEY|_URL|_DSN)$/;

const id = (o) => `${o.kind}/${o.metadata?.name}`;
const podSpec = (o) => o.spec?.template?.spec;
const podLabels = (o) => o.spec?.template?.metadata?.labels ?? {};
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

function checkPod(o, ctx, p) {
  const spec = podSpec(o);
  if (!spec) return p.push(`${id(o)}: no pod template`);
  const where = id(o);
  const psc = spec.securityContext ?? {};
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (spec[f]) p.push(`${where}: ${f} is not allowed (restricted)`);
  }
  for (const v of spec.volumes ?? []) {
    if (!kAllowedVolumes.some((t) => t in v)) p.push(`${where}: volume ${v.name} type not allowed`);
    if (v.configMap && !ctx.byKind("ConfigMap").some((c) => c.metadata.name === v.configMap.name)) {
      p.push(`${where}: volume ${v.name} names ConfigMap ${v.configMap.name}, which is not rendered`);
    }
  }
  const longRunning = o.kind !== "Job";
  const init = new Set(spec.initContainers ?? []);
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const cw = `${where} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) p.push(`${cw}: allowPrivilegeEscalation must be false`);
    if (sc.privileged) p.push(`${cw}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push(`${cw}: must drop ALL capabilities`);
    if ((sc.capabilities?.add ?? []).some((a) => a !== "NET_BIND_SERVICE")) p.push(`${cw}: adds capabilities`);
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) p.push(`${cw}: runAsNonRoot not set`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) p.push(`${cw}: runs as uid 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (!["RuntimeDefault", "Localhost"].includes(seccomp)) p.push(`${cw}: seccompProfile must be RuntimeDefault`);
    const r = c.resources ?? {};
    if (!r.requests?.cpu || !r.requests?.memory) p.push(`${cw}: needs cpu and memory requests`);
    if (!r.limits?.memory) p.push(`${cw}: needs a memory limit`);
    if (!c.image) p.push(`${cw}: no image`);
    if (longRunning && !init.has(c) && (!c.livenessProbe || !c.readinessProbe)) p.push(`${cw}: needs liveness and readiness probes`);
    checkEnv(c, cw, ctx, p);
    checkConfigArg(c, spec, cw, ctx, p);
  }
}

function checkEnv(c, cw, ctx, p) {
  for (const e of c.env ?? []) {
    if (typeof e.value === "string") {
      if (/:\/\/[^/@\s]*:[^/@\s]*@/.test(e.value)) p.push(`${cw}: env ${e.name} holds credentials inline`);
      else if (kCredentialName.test(e.name) && !/_URL$/.test(e.name)) p.push(`${cw}: env ${e.name} must come from a Secret`);
    }
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && !ref.optional && !ctx.secretHas(ref.name, ref.key)) {
      p.push(`${cw}: env ${e.name} needs Secret ${ref.name} key ${ref.key}, which nothing provides`);
    }
  }
}

// `--config /etc/inferline/X.yaml`: the ConfigMap mounted at /etc/inferline has X.yaml.
function checkConfigArg(c, spec, cw, ctx, p) {
  const args = c.args ?? [];
  const i = args.indexOf("--config");
  if (i < 0) return;
  const file = args[i + 1] ?? "";
  const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(m.mountPath + "/"));
  const vol = mount && (spec.volumes ?? []).find((v) => v.name === mount.name);
  const cm = vol?.configMap && ctx.byKind("ConfigMap").find((m) => m.metadata.name === vol.configMap.name);
  const key = mount ? file.slice(mount.mountPath.length + 1) : "";
  if (!cm || !(key in (cm.data ?? {}))) p.push(`${cw}: --config ${file} is not in a mounted ConfigMap`);
}

function configOf(workload, ctx) {
  const c = podSpec(workload)?.containers?.[0];
  const args = c?.args ?? [];
  const file = args[args.indexOf("--config") + 1];
  for (const cm of ctx.byKind("ConfigMap")) {
    const key = file?.split("/").pop();
    if (cm.data?.[key] && podSpec(workload).volumes?.some((v) => v.configMap?.name === cm.metadata.name)) {
      return parse(cm.data[key]) ?? {};
    }
  }
  return {};
}

function checkReferences(ctx, p) {
  const workloads = ctx.objects.filter((o) => kWorkloads.has(o.kind));
  const services = ctx.byKind("Service");
  for (const s of services) {
    const pods = workloads.filter((w) => matches(s.spec?.selector, podLabels(w)));
    if (pods.length === 0) p.push(`${id(s)}: selects no pods`);
    for (const port of s.spec?.ports ?? []) {
      if (typeof port.targetPort !== "string") continue;
      const named = pods.some((w) => podSpec(w).containers.some((c) =>
        (c.ports ?? []).some((cp) => cp.name === port.targetPort)));
      if (!named) p.push(`${id(s)}: targetPort ${port.targetPort} is no container port`);
    }
  }
  for (const pdb of ctx.byKind("PodDisruptionBudget")) {
    if (!workloads.some((w) => matches(pdb.spec?.selector?.matchLabels, podLabels(w)))) {
      p.push(`${id(pdb)}: selects no pods`);
    }
  }
  // An autoscaled workload leaves spec.replicas to its autoscaler: a value in the manifest
  // would reset the replica count on every deploy.
  const noReplicas = (t) => {
    const w = ctx.objects.find((o) => id(o) === t);
    if (w && w.spec?.replicas !== undefined) p.push(`${t}: autoscaled, so it must not set spec.replicas`);
  };
  const targets = new Map();
  const target = (owner, kind, name) => {
    const t = `${kind}/${name}`;
    if (!ctx.objects.some((o) => id(o) === t)) p.push(`${id(owner)}: target ${t} is not rendered`);
    noReplicas(t);
    if (targets.has(t)) p.push(`${id(owner)} and ${targets.get(t)} both scale ${t}`);
    targets.set(t, id(owner));
  };
  for (const h of ctx.byKind("HorizontalPodAutoscaler")) target(h, h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name);
  for (const so of ctx.byKind("ScaledObject")) {
    target(so, so.spec.scaleTargetRef.kind ?? "Deployment", so.spec.scaleTargetRef.name);
    for (const t of so.spec.triggers ?? []) {
      const auth = t.authenticationRef?.name;
      if (auth && !ctx.byKind("TriggerAuthentication").some((a) => a.metadata.name === auth)) {
        p.push(`${id(so)}: trigger ${t.type} names TriggerAuthentication ${auth}, not rendered`);
      }
    }
    checkWorkerModel(so, ctx, p);
  }
  for (const ta of ctx.byKind("TriggerAuthentication")) {
    for (const r of ta.spec?.secretTargetRef ?? []) {
      if (!ctx.secretHas(r.name, r.key)) p.push(`${id(ta)}: Secret ${r.name} key ${r.key} is provided by nothing`);
    }
  }
  for (const sm of ctx.byKind("ServiceMonitor")) {
    const svcs = services.filter((s) => matches(sm.spec?.selector?.matchLabels, s.metadata?.labels));
    if (svcs.length === 0) p.push(`${id(sm)}: selects no Service`);
    for (const ep of sm.spec?.endpoints ?? []) {
      if (!svcs.some((s) => (s.spec.ports ?? []).some((sp) => sp.name === ep.port))) {
        p.push(`${id(sm)}: no selected Service has port ${ep.port}`);
      }
    }
  }
  const policies = ctx.byKind("NetworkPolicy");
  for (const w of workloads.filter((w) => podLabels(w)["app.kubernetes.io/name"] === "inferline")) {
    for (const type of ["Ingress", "Egress"]) {
      const covered = policies.some((np) => (np.spec.policyTypes ?? []).includes(type) &&
                                            matches(np.spec.podSelector?.matchLabels, podLabels(w)));
      if (!covered) p.push(`${id(w)}: no NetworkPolicy restricts its ${type}`);
    }
  }
}

// The worker's model (its config file's model.name, or INFERLINE_MODEL_NAME) must be the one
// whose queue and backlog its ScaledObject reads.
function checkWorkerModel(so, ctx, p) {
  const w = ctx.objects.find((o) => o.kind === "Deployment" && o.metadata.name === so.spec.scaleTargetRef.name);
  if (!w || podLabels(w)["app.kubernetes.io/component"] !== "worker") return;
  const env = podSpec(w).containers[0].env ?? [];
  const model = env.find((e) => e.name === "INFERLINE_MODEL_NAME")?.value ?? configOf(w, ctx).model?.name;
  if (!model) return p.push(`${id(w)}: no model name in its config`);
  for (const g of ctx.objects.filter((o) => o.kind === "Deployment" &&
                                         podLabels(o)["app.kubernetes.io/component"] === "gateway")) {
    const served = configOf(g, ctx).model?.name;
    if (served !== model) p.push(`${id(g)} serves model ${served ?? "(unnamed)"}, but ${id(w)} serves ${model}`);
  }
  for (const t of so.spec.triggers) {
    if (t.type === "rabbitmq" && t.metadata.queueName !== `inference_requests.${model}`) {
      p.push(`${id(so)}: watches ${t.metadata.queueName}, but the worker serves ${model}`);
    }
    if (t.type === "metrics-api" && !(t.metadata.valueLocation ?? "").includes(`model=="${model}"`)) {
      p.push(`${id(so)}: reads the backlog at ${t.metadata.valueLocation}, but the worker serves ${model}`);
    }
  }
}

export function checkPolicy(objects, { secrets, provided }, problems) {
  const secretKeys = new Set(provided);
  for (const s of secrets) {
    for (const k of Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) })) {
      secretKeys.add(`${s.metadata.name}:${k}`);
    }
  }
  const ctx = {
    objects,
    byKind: (k) => objects.filter((o) => o.kind === k),
    secretHas: (name, key) => secretKeys.has(`${name}:${key}`),
  };
  for (const o of objects) {
    if (o.kind === "Secret") problems.push(`${id(o)}: Secrets must not be rendered from the repository`);
    if (kWorkloads.has(o.kind)) checkPod(o, ctx, problems);
  }
  checkReferences(ctx, problems);
}
