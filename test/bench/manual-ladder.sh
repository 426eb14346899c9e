#!/usr/bin/env bash
# The ladder a person climbs by hand with plain kubectl, one command per step, as the troubleshooting guides describe it:
# a debug container in the source pod, DNS, the ClusterIP, a pod IP, then a pod on the destination's node and the nodes
# themselves. It is the baseline `npm run bench` compares kubectl netdebug with. Usage (KUBECONFIG set):
#   manual-ladder.sh NAMESPACE/SOURCE-POD SVC-NAMESPACE/SERVICE
# KUBECTL_CACHE_DIR, when set, is kubectl's discovery cache (shared by the calls, as a person's ~/.kube/cache is).
# Exits non-zero when a step fails; deletes every pod it created, whatever happens.
set -euo pipefail
src_ns=${1%%/*}; src=${1#*/}; svc_ns=${2%%/*}; svc=${2#*/}
image=nicolaka/netshoot:v0.13
k() { kubectl ${KUBECTL_CACHE_DIR:+--cache-dir "$KUBECTL_CACHE_DIR"} "$@"; }
created=()
cleanup() { for p in "${created[@]}"; do k delete pod -n "$src_ns" "$p" --wait=false >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
suffix=$RANDOM

# 0. What is the Service, and where are its pods?
cluster_ip=$(k get svc -n "$svc_ns" "$svc" -o jsonpath='{.spec.clusterIP}')
port=$(k get svc -n "$svc_ns" "$svc" -o jsonpath='{.spec.ports[0].port}')
read -r pod_ip pod_port dst_node <<<"$(k get endpointslices -n "$svc_ns" -l "kubernetes.io/service-name=$svc" \
  -o jsonpath='{.items[0].endpoints[0].addresses[0]} {.items[0].ports[0].port} {.items[0].endpoints[0].nodeName}')"
src_node=$(k get pod -n "$src_ns" "$src" -o jsonpath='{.spec.nodeName}')

# 1. A debug container in the source pod.
dbg=dbg-$suffix
k debug -n "$src_ns" "$src" --image "$image" --profile netadmin -c "$dbg" -- sleep 3600 >/dev/null
k wait -n "$src_ns" "pod/$src" --for=jsonpath="{.status.ephemeralContainerStatuses[?(@.name==\"$dbg\")].state.running}" --timeout 60s >/dev/null
in_src() { k exec -n "$src_ns" "$src" -c "$dbg" -- "$@"; }

# 2. DNS, 3. the ClusterIP, 4. the pod IP, from the source pod.
in_src dig +short +search "$svc.$svc_ns" | grep -q .
in_src nc -z -w 2 "$cluster_ip" "$port"
in_src nc -z -w 2 "$pod_ip" "$pod_port"

# 5. same-node: an ordinary pod on the destination's node.
near=ladder-near-$suffix
created+=("$near")
k run -n "$src_ns" "$near" --image "$image" --restart Never --overrides "{\"apiVersion\":\"v1\",\"spec\":{\"nodeName\":\"$dst_node\"}}" -- sleep 3600 >/dev/null
k wait -n "$src_ns" "pod/$near" --for condition=Ready --timeout 60s >/dev/null
k exec -n "$src_ns" "$near" -- nc -z -w 2 "$pod_ip" "$pod_port"

# 6. node-origin: from each node's own network, a hostNetwork pod pinned to the node. (`kubectl debug node/NAME` does
# the same, but sends its create as protobuf, which the lab's API server does not speak.)
for node in $(printf '%s\n' "$src_node" "$dst_node" | sort -u); do
  name=ladder-node-$node-$suffix
  created+=("$name")
  k run -n "$src_ns" "$name" --image "$image" --restart Never \
    --overrides "{\"apiVersion\":\"v1\",\"spec\":{\"nodeName\":\"$node\",\"hostNetwork\":true}}" -- sleep 3600 >/dev/null
  k wait -n "$src_ns" "pod/$name" --for condition=Ready --timeout 60s >/dev/null
  k exec -n "$src_ns" "$name" -- nc -z -w 2 "$pod_ip" "$pod_port"
done
