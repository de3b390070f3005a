{{/* Names, labels, images and the security settings every vmafx container shares. */}}
{{- define "vmafx.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vmafx.fullname" -}}
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

{{- define "vmafx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vmafx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vmafx.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "vmafx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vmafx.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vmafx.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vmafx.controllerName" -}}
{{- printf "%s-controller" (include "vmafx.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The controller's gRPC address as nodes dial it (https:// when TLS is on). */}}
{{- define "vmafx.controllerAddress" -}}
{{- $host := printf "%s:%v" (include "vmafx.controllerName" .) .Values.controller.service.grpcPort -}}
{{- if .Values.controller.tls.secretName -}}https://{{ $host }}{{- else -}}{{ $host }}{{- end -}}
{{- end -}}

{{- define "vmafx.image" -}}
{{- $image := index .root.Values.images .kind -}}
{{- $tag := default .root.Chart.AppVersion $image.tag -}}
{{- if .suffix -}}{{ printf "%s:%s-%s" $image.repository $tag .suffix }}{{- else -}}{{ printf "%s:%s" $image.repository $tag }}{{- end -}}
{{- end -}}

{{/* GPU vendor → device-plugin resource and node image runtime. */}}
{{- define "vmafx.gpuResource" -}}
{{- $resources := dict "nvidia" "nvidia.com/gpu" "amd" "amd.com/gpu" "intel" "gpu.intel.com/i915" -}}
{{- index $resources . | default "" -}}
{{- end -}}

{{- define "vmafx.gpuRuntime" -}}
{{- $runtimes := dict "nvidia" "cuda" "amd" "rocm" "intel" "intel" "cpu" "cpu" -}}
{{- index $runtimes . -}}
{{- end -}}

{{- define "vmafx.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "vmafx.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The comma lists vmafx node reads: queues, QUEUE=LIMIT pairs, KEY=VALUE labels. */}}
{{- define "vmafx.pairs" -}}
{{- $pairs := list -}}
{{- range $key, $value := . }}{{ $pairs = append $pairs (printf "%s=%v" $key $value) }}{{ end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Whether a pool runs the trainer sidecar: its own switch, else trainer.enabled. */}}
{{- define "vmafx.poolTrainer" -}}
{{- if hasKey .pool "trainer" -}}{{ .pool.trainer }}{{- else -}}{{ .root.Values.trainer.enabled }}{{- end -}}
{{- end -}}

{{- define "vmafx.storeUrlEnv" -}}
- name: VMAFX_STORE_URL
{{- if eq .Values.controller.store.backend "postgresql" }}
  valueFrom:
    secretKeyRef:
      name: {{ required "controller.store.postgresql.existingSecret is required with the postgresql backend" .Values.controller.store.postgresql.existingSecret }}
      key: {{ .Values.controller.store.postgresql.secretKey }}
{{- else }}
  value: sqlite:////var/lib/vmafx/controller.db
{{- end }}
{{- end -}}

{{/* PromQL label matchers for this release's controller series. */}}
{{- define "vmafx.controllerSeries" -}}
namespace="{{ .Release.Namespace }}",service="{{ include "vmafx.controllerName" . }}"
{{- end -}}
