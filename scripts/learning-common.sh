# Sourced by the scripts/learning-*.sh: builds walloc and walloc-learn
# (PROFILE=release by default, or debug), sets BIN to their folder and
# makes WORK an absolute folder; deb PACKAGE fetches and unpacks a Debian
# package into $WORK/deb once.
PROFILE=${PROFILE:-release}
EPOCHS=${EPOCHS:-10}
if [ "$PROFILE" = release ]; then
  cargo build --release -p walloc-cli -p walloc-learn
else
  cargo build -p walloc-cli -p walloc-learn
fi
BIN="target/$PROFILE"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

deb() {
  if [ ! -d "$WORK/deb" ]; then
    (cd "$WORK" && apt-get download "$1" && dpkg-deb -x "$1"_*.deb deb)
  fi
}
