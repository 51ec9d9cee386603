{{/*
Helpers shared by the templates. The objects keep the fixed names of deploy/k8s (nats, postgres,
sim, orders, ...): the services find each other by them, so one release per namespace.
*/}}

{{/* The chart's mode, checked here too (the schema refuses a wrong one first). */}}
{{- define "sarathi.mode" -}}
{{- $mode := required "mode is required: sim, paper or live" .Values.mode -}}
{{- if not (has $mode (list "sim" "paper" "live")) -}}
{{- fail (printf "mode must be sim, paper or live, not %q" $mode) -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{/* Whether the mode runs the Dhan emulator (sim: market and broker; paper: broker). */}}
{{- define "sarathi.withSim" -}}
{{- if ne (include "sarathi.mode" .) "live" }}true{{ end -}}
{{- end -}}

{{/* metadata.labels of an object: (dict "name" ... "component" ... "root" $). */}}
{{- define "sarathi.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{ include "sarathi.commonLabels" .root }}
{{- end -}}

{{/* The labels of every object (ConfigMaps and policies carry only these). */}}
{{- define "sarathi.commonLabels" -}}
app.kubernetes.io/part-of: sarathi
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* A Sarathi image: (dict "service" ... "root" $). */}}
{{- define "sarathi.image" -}}
{{ .root.Values.image.repository }}/{{ .service }}:{{ .root.Values.image.tag }}
{{- end -}}

{{/* The pod's security context for a user id. */}}
{{- define "sarathi.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "sarathi.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* SARATHI_DATABASE_URL from the postgres Secret. */}}
{{- define "sarathi.databaseUrl" -}}
- name: SARATHI_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.postgres }}
      key: SARATHI_DATABASE_URL
{{- end -}}

{{/*
envFrom of every trading container and the instrument sync: the settings, the Dhan credentials
(optional in sim only) and, in live, the arming Secret (required).
*/}}
{{- define "sarathi.envFrom" -}}
{{- $mode := include "sarathi.mode" . -}}
- configMapRef:
    name: sarathi-config
- secretRef:
    name: {{ .Values.secrets.dhan }}
    optional: {{ eq $mode "sim" }}
{{- if eq $mode "live" }}
- secretRef:
    name: {{ required "mode live needs secrets.liveArming: the Secret holding SARATHI_LIVE_TRADING=armed" .Values.secrets.liveArming }}
    optional: false
{{- end }}
{{- end -}}

{{/* The migration init container: (dict "service" ... "root" $). */}}
{{- define "sarathi.migrate" -}}
- name: migrate
  image: {{ include "sarathi.image" . }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: ["python", "-m", "sarathi.common.db.migrate", "upgrade"]
  env:
    {{- include "sarathi.databaseUrl" .root | nindent 4 }}
  resources:
    {{- toYaml .root.Values.migrate.resources | nindent 4 }}
  securityContext:
    {{- include "sarathi.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* The probes of a Sarathi service on its named port `http`. */}}
{{- define "sarathi.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* The Service in front of a Sarathi service: (dict "name" "component" "port" "root"). */}}
{{- define "sarathi.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "sarathi.labels" . | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/name: {{ .name }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
{{- end -}}

{{/* A ReadWriteOnce volume claim: (dict "name" "owner" "component" "size" "root"). */}}
{{- define "sarathi.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "sarathi.labels" (dict "name" .owner "component" .component "root" .root) | nindent 4 }}
spec:
  accessModes: [ReadWriteOnce]
  {{- include "sarathi.storageClass" .root | nindent 2 }}
  resources:
    requests:
      storage: {{ .size }}
{{- end -}}

{{- define "sarathi.storageClass" -}}
{{- with .Values.storageClassName }}
storageClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Where a recording service (feed, signals, execution) records the day: SARATHI_<SERVICE>_RECORDER_DIRECTORY. */}}
{{- define "sarathi.recorderEnv" -}}
- name: SARATHI_{{ upper . }}_RECORDER_DIRECTORY
  value: /var/lib/sarathi/recording
{{- end -}}

{{/* The recording service's claim `<service>-recordings` as the pod's volume `data`. */}}
{{- define "sarathi.recordingVolume" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ . }}-recordings
{{- end -}}

{{/* The pod template's annotations: scraping, and the settings' checksum (a change rolls the pods). */}}
{{- define "sarathi.podAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
{{- with .root.Values.holidays.csv }}
checksum/holidays: {{ . | sha256sum }}
{{- end }}
{{- end -}}

{{/*
The operator's holidays file (values holidays.csv; deploy/k8s/components/holidays): where the
ConfigMap sarathi-holidays is mounted and SARATHI_HOLIDAYS_FILE points, in every Deployment of
the services and the emulator. Empty: nothing mounted, the variable unset.
*/}}
{{- define "sarathi.holidaysEnv" -}}
- name: SARATHI_HOLIDAYS_FILE
  value: /etc/sarathi/holidays/holidays.csv
{{- end -}}

{{- define "sarathi.holidaysMount" -}}
- name: holidays
  mountPath: /etc/sarathi/holidays
  readOnly: true
{{- end -}}

{{- define "sarathi.holidaysVolume" -}}
- name: holidays
  configMap:
    name: sarathi-holidays
    items:
      - {key: holidays.csv, path: holidays.csv}
{{- end -}}

{{/*
A Deployment of one of Sarathi's services (its module, image, port, probes, /tmp):
(dict "name" "component" "port" "root" "database" bool "recreate" bool "grace" int
      "envFrom" yaml "env" yaml "mounts" yaml "volumes" yaml "nodeSelector" map).
*/}}
{{- define "sarathi.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "sarathi.labels" . | nindent 4 }}
spec:
  replicas: 1
  {{- if .recreate }}
  strategy:
    type: Recreate
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
  template:
    metadata:
      labels:
        {{- include "sarathi.labels" . | nindent 8 }}
        {{- if .database }}
        sarathi.dev/database: "true"
        {{- end }}
      annotations:
        {{- include "sarathi.podAnnotations" . | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ .grace }}
      {{- with .nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "sarathi.podSecurityContext" 10001 | nindent 8 }}
      {{- if .database }}
      # The schema at head before the service starts (an advisory lock makes concurrent runs safe).
      initContainers:
        {{- include "sarathi.migrate" (dict "service" .name "root" $root) | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "sarathi.image" (dict "service" .name "root" $root) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["python", "-m", "sarathi.{{ .name }}"]
          ports:
            - name: http
              containerPort: {{ .port }}
          envFrom:
            {{- .envFrom | nindent 12 }}
          {{- if or .database .env $root.Values.holidays.csv }}
          env:
            {{- if .database }}
            {{- include "sarathi.databaseUrl" $root | nindent 12 }}
            {{- end }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- if $root.Values.holidays.csv }}
            {{- include "sarathi.holidaysEnv" . | nindent 12 }}
            {{- end }}
          {{- end }}
          {{- include "sarathi.probes" . | nindent 10 }}
          resources:
            {{- toYaml (get $root.Values .name).resources | nindent 12 }}
          securityContext:
            {{- include "sarathi.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- if $root.Values.holidays.csv }}
            {{- include "sarathi.holidaysMount" . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- if $root.Values.holidays.csv }}
        {{- include "sarathi.holidaysVolume" . | nindent 8 }}
        {{- end }}
{{- end -}}
