{{/* Names and labels. */}}
{{- define "mashang.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mashang.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mashang.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "mashang.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mashang
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "intake"). */}}
{{- define "mashang.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mashang.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mashang.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mashang.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mashang.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The components this release runs, as YAML: a map from component name to its values
and the `serve` arguments. split: each enabled service; allInOne: one named "all".
*/}}
{{- define "mashang.components" -}}
{{- if eq .Values.mode "allInOne" -}}
all:
  args: ["serve"]
  values: {{- toYaml .Values.allInOne | nindent 4 }}
{{- else -}}
{{- range $name := list "intake" "routing" "notification" "analytics" }}
{{- $svc := index $.Values.services $name }}
{{- if $svc.enabled }}
{{ $name }}:
  args: ["serve", {{ $name | quote }}]
  values: {{- toYaml $svc | nindent 4 }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Who serves which path: DESIGN.md's table with decision 0021's and 0033's additions.
This is the only copy; the Ingress is rendered from it and infra/helm-check checks
every route the services declare against it. An Exact entry wins over any Prefix;
among prefixes the longest wins.
*/}}
{{- define "mashang.pathMap" -}}
intake:
  prefix: [/q, /r, /api/v1/qr, /api/v1/reports, /api/v1/attachments, /open311, /console/report, /static/intake]
  exact: []
routing:
  prefix: [/login, /logout, /l, /console, /admin, /county, /api/v1/auth, /api/v1/cases, /api/v1/extension-requests, /api/v1/reply-templates, /api/v1/admin, /api/v1/county, /static/admin, /static/admin-rules]
  exact: []
notification:
  prefix: [/console/notices, /admin/channels, /admin/message-templates, /county/mail, /api/v1/inbox, /api/v1/notification, /api/v1/admin/channels, /api/v1/admin/deliveries, /api/v1/admin/digest, /api/v1/admin/message-templates, /api/v1/county/mail, /static/notification]
  exact: []
analytics:
  prefix: [/dashboard, /county/dashboard, /api/v1/stats, /api/v1/county/stats, /api/v1/county/league, /api/v1/exports, /api/v1/county/exports, /api/v1/ops/stats, /static/analytics]
  exact: [/api/v1/reports/self-assessment.docx, /api/v1/county/reports/self-assessment.docx]
{{- end -}}

{{/* The environment every container gets: the ConfigMap, then the Secret's keys. */}}
{{- define "mashang.env" -}}
{{- $secret := .Values.existingSecret -}}
envFrom:
  - configMapRef:
      name: {{ include "mashang.fullname" . }}
env:
  - name: MASHANG_DATABASE_URL
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: database-url}}
  - name: MASHANG_PII_KEY
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: pii-key}}
  - name: MASHANG_OPERATOR_TOKEN
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: operator-token, optional: true}}
  - name: MASHANG_S3_ACCESS_KEY_ID
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: s3-access-key-id, optional: true}}
  - name: MASHANG_S3_SECRET_ACCESS_KEY
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: s3-secret-access-key, optional: true}}
  - name: MASHANG_NATS_USER
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: nats-user, optional: true}}
  - name: MASHANG_NATS_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: nats-password, optional: true}}
  - name: MASHANG_NATS_TOKEN
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: nats-token, optional: true}}
  - name: MASHANG_NATS_NKEY_SEED
    valueFrom: {secretKeyRef: {name: {{ $secret }}, key: nats-nkey-seed, optional: true}}
{{- end -}}

{{/* Checksum of the rendered ConfigMap, so a configuration change rolls the pods. */}}
{{- define "mashang.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum -}}
{{- end -}}
