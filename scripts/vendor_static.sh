#!/usr/bin/env bash
# Refresh the front-end libraries in src/nuanxin/static/vendor/ from the npm registry.
# Versions are pinned here; the files are committed so `make run` needs no Node.js.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/nuanxin/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent htmx.org@2.0.11 leaflet@1.9.4 \
    leaflet.markercluster@1.5.3 echarts@5.6.0 >/dev/null)
mkdir -p "$out/leaflet/images"
tar -xzf "$tmp"/htmx.org-2.0.11.tgz -C "$tmp" package/dist/htmx.min.js
cp "$tmp/package/dist/htmx.min.js" "$out/htmx.min.js"
rm -rf "$tmp/package"
tar -xzf "$tmp"/leaflet-1.9.4.tgz -C "$tmp" package/dist
cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$out/leaflet/"
cp "$tmp"/package/dist/images/*.png "$out/leaflet/images/"
rm -rf "$tmp/package"
# Clustering keeps a district's hundred stations readable at city zoom.
tar -xzf "$tmp"/leaflet.markercluster-1.5.3.tgz -C "$tmp" package/dist
mkdir -p "$out/leaflet.markercluster"
cp "$tmp/package/dist/leaflet.markercluster.js" "$tmp/package/dist/MarkerCluster.css" \
   "$tmp/package/dist/MarkerCluster.Default.css" "$out/leaflet.markercluster/"
rm -rf "$tmp/package"
tar -xzf "$tmp"/echarts-5.6.0.tgz -C "$tmp" package/dist/echarts.min.js
cp "$tmp/package/dist/echarts.min.js" "$out/echarts.min.js"
# jsQR reads QR codes on browsers without BarcodeDetector (the rider's 扫一扫).
(cd "$tmp" && npm pack --silent jsqr@1.4.0 >/dev/null)
mkdir -p "$out/jsqr"
tar -xzf "$tmp"/jsqr-1.4.0.tgz -C "$tmp" package/dist/jsQR.js package/LICENSE
cp "$tmp/package/dist/jsQR.js" "$out/jsqr/jsQR.js"
cp "$tmp/package/LICENSE" "$out/jsqr/LICENSE"
rm -rf "$tmp/package"
( cd "$out" && sha256sum jsqr/jsQR.js > jsqr/SHA256SUMS )
# Source maps are not shipped; drop the references so the static manifest stays consistent.
sed -i '/sourceMappingURL=/d' "$out/htmx.min.js" "$out/leaflet/leaflet.js" "$out/echarts.min.js" \
    "$out/leaflet.markercluster/leaflet.markercluster.js"
( cd "$out" && sha256sum htmx.min.js leaflet/leaflet.js leaflet/leaflet.css echarts.min.js \
    leaflet.markercluster/leaflet.markercluster.js leaflet.markercluster/MarkerCluster.css \
    leaflet.markercluster/MarkerCluster.Default.css \
    > SHA256SUMS )
echo "vendored into $out"
