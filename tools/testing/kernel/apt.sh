# SPDX-License-Identifier: GPL-2.0
#
# Debian packages through a private apt configuration: the system's sources,
# pins and lists are left untouched. Sourced by build and debian.
#
# Needs: cache (the cache directory), suites (the suites to search), log, die.

# The mirror this machine already uses for Debian itself, from apt's own
# configuration (deb822 .sources files or one-line .list files).
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[[:space:]]*$/ { if (uri != "" && debian) { print uri; exit }
					   uri = ""; debian = 0; next }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++)
				if ($i ~ /^(bookworm|trixie|sid|unstable|stable)$/) debian = 1 }
			END { if (uri != "" && debian) print uri }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3
				   if (s ~ /^(bookworm|trixie|sid|unstable|stable)$/) print u }' "$f"
	done
}

# apt_opts: the options that make apt-get and apt-cache use the private
# configuration; set, and its lists updated, by apt_update (once per run).
apt_opts=()
apt_update() {
	local list="$cache/apt/sources.list" s
	[ ${#apt_opts[@]} -eq 0 ] || return 0
	apt_mirror=$(debian_mirror | head -n1)
	[ -n "$apt_mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
	mkdir -p "$cache/apt/lists/partial" "$cache/apt/debs"
	: > "$list"
	for s in $suites; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $apt_mirror $s main" >> "$list"
	done
	apt_opts=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
		  -o "Dir::State::Lists=$cache/apt/lists" -o Dir::Etc::Preferences=/dev/null
		  -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root)
	log "reading the package lists of '$suites' on $apt_mirror"
	flock "$cache/apt/lock" timeout 600 apt-get "${apt_opts[@]}" update -qq >&2 ||
		log "warning: apt-get update of the private source list reported errors"
}

# apt_download PACKAGE[=VERSION]: downloads one package into $cache/apt/debs
# (kept there) and prints the .deb's path. Runs that share the cache take
# turns on $cache/apt/lock.
apt_download() {
	local pkg=${1%%=*} deb
	apt_update
	apt-cache "${apt_opts[@]}" show "$1" >/dev/null 2>&1 ||
		die "$1 is in none of the suites tried ($suites) on $apt_mirror"
	(cd "$cache/apt/debs" && flock "$cache/apt/lock" sh -c '
		rm -f "$1"_*.deb && shift && exec "$@"' sh "$pkg" \
		apt-get "${apt_opts[@]}" download -qq "$1" >&2) || die "download of $1 failed"
	deb=$(ls "$cache/apt/debs/${pkg}"_*.deb 2>/dev/null | head -n1)
	[ -f "$deb" ] || die "download of $1 failed"
	echo "$deb"
}
