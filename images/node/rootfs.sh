# shellcheck shell=bash
# shellcheck disable=SC2034,SC2016 # settings used by images/build.sh; dpkg-query formats are literal
# What images/build.sh puts into the node rootfs on top of the shared trixie minbase.
# Sourced; defines NODE_* settings and node_rootfs_prepare / node_rootfs_finish.

NODE_TAG=authflow.local/node:20
NODE_ROOTFS_TAG=authflow.local/node-rootfs:20
# trixie ships Node.js 20.19.x (Better Auth needs >= 20.19); ca-certificates for outbound TLS of the app
NODE_PACKAGES=(nodejs ca-certificates)
NODE_MIN_VERSION=20.19.0

node_rootfs_prepare() { :; }

node_rootfs_finish() {
	local root=$1
	rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
	af_strip_common "$root"
}
