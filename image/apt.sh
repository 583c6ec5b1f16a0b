# image/apt.sh: shared by image/fetch and image/lock-resolve (sourced).

# debian_mirror: the Debian mirror URI to use. $DSHIELD_DEBIAN_MIRROR wins;
# otherwise the first .../debian URI of the machine's own apt configuration
# (deb822 .sources files, then one-line lists), which is read, never edited.
debian_mirror() {
  if [ -n "${DSHIELD_DEBIAN_MIRROR:-}" ]; then echo "${DSHIELD_DEBIAN_MIRROR%/}"; return 0; fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }')
  if [ -z "$uri" ]; then
    echo "no Debian mirror in the machine's apt configuration; set DSHIELD_DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "${uri%/}"
}
