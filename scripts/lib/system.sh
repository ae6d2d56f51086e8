# Shared by scripts/demo and scripts/test: idempotent system setup and the test pcscd.
# Sourced, not run.

# Installs the Debian packages given as arguments unless all are already installed.
onshi_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "onshi: installing ${missing[*]}" >&2
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages every build needs: pcsc-sys links libpcsclite, found through pkg-config.
ONSHI_BUILD_PACKAGES=(pkg-config libpcsclite-dev)
# Packages for the virtual reader stack: pcscd and the vpcd driver.
ONSHI_CARD_PACKAGES=(pcscd vsmartcard-vpcd)
# Run-time libraries of the desk window (eframe on X11 with OpenGL, loaded at run time).
ONSHI_UI_PACKAGES=(libgl1 libegl1 libgl1-mesa-dri libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0)
# A virtual X display for the smoke test and for screenshots on a machine without a screen.
ONSHI_HEADLESS_PACKAGES=(xvfb xauth)

# Writes a reader.conf.d with N vpcd entries, each giving two readers on ports P and P+1:
#   "Onshi VPCD A 00 00" (port base), "Onshi VPCD A 00 01" (base+1), "Onshi VPCD B 00 00" …
# and prints the pool as "name=port,name=port,…" for ONSHI_TEST_READERS.
# The vpcd driver keeps its sockets in a static per-slot array, so two entries loading the
# same .so would share (and clobber) each other's sockets: each entry gets its own copy of the
# driver, which the dynamic loader maps as a separate instance. The copies live beside the
# config dir, not in it: pcscd parses every file in the config dir as reader.conf.
ONSHI_VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
onshi_write_reader_pool() {
  local dir=$1 entries=$2 base=$3 i letter port pool=() driver
  local drivers=$dir.drivers
  rm -rf "$dir" "$drivers" && mkdir -p "$dir" "$drivers"
  for ((i = 0; i < entries; i++)); do
    letter=$(printf "\\x$(printf %x $((65 + i)))")
    port=$((base + 2 * i))
    driver=$ONSHI_VPCD_DRIVER
    if ((entries > 1)); then
      driver=$drivers/libifdvpcd-$letter.so
      cp "$ONSHI_VPCD_DRIVER" "$driver"
    fi
    cat >"$dir/onshi-vpcd-$letter" <<CONF
FRIENDLYNAME "Onshi VPCD $letter"
DEVICENAME   /dev/null:$port
LIBPATH      $driver
CHANNELID    $port
CONF
    pool+=("Onshi VPCD $letter 00 00=$port" "Onshi VPCD $letter 00 01=$((port + 1))")
  done
  local IFS=,
  echo "${pool[*]}"
}

# Stops any running pcscd (there is one socket per machine) and waits until it is gone.
onshi_stop_pcscd() {
  pkill -x pcscd 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    pgrep -x pcscd >/dev/null || break
    sleep 0.1
  done
  pkill -9 -x pcscd 2>/dev/null || true
  rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
}

# Starts pcscd in the foreground mode (in the background of this shell) with the reader
# config dir $1, logging to $2, its pid written to $3; waits until its socket is up.
onshi_start_pcscd() {
  local conf=$1 log=$2 pidfile=$3 i
  onshi_stop_pcscd
  mkdir -p /run/pcscd
  pcscd --foreground --config "$conf" >"$log" 2>&1 &
  echo $! >"$pidfile"
  for ((i = 0; i < 100; i++)); do
    [[ -S /run/pcscd/pcscd.comm ]] && return 0
    sleep 0.1
  done
  echo "onshi: pcscd did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

# Sets up the test reader pool and starts pcscd for it; exports what the tests read:
# ONSHI_TEST_READERS, ONSHI_TEST_PCSCD_CONF, ONSHI_TEST_PCSCD_PIDFILE, ONSHI_TEST_PCSCD_LOG.
# Installs an EXIT trap that stops pcscd again.
onshi_test_pcscd_up() {
  local work=$PWD/target/onshi-test
  mkdir -p "$work"
  export ONSHI_TEST_PCSCD_CONF=$work/reader.conf.d
  export ONSHI_TEST_PCSCD_PIDFILE=$work/pcscd.pid
  export ONSHI_TEST_PCSCD_LOG=$work/pcscd.log
  ONSHI_TEST_READERS=$(onshi_write_reader_pool "$ONSHI_TEST_PCSCD_CONF" 4 35990)
  export ONSHI_TEST_READERS
  trap onshi_test_pcscd_down EXIT
  onshi_start_pcscd "$ONSHI_TEST_PCSCD_CONF" "$ONSHI_TEST_PCSCD_LOG" "$ONSHI_TEST_PCSCD_PIDFILE"
}

onshi_test_pcscd_down() {
  local pid
  pid=$(cat "$ONSHI_TEST_PCSCD_PIDFILE" 2>/dev/null || true)
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  onshi_stop_pcscd
}

# The Windows cross-build (scripts/build-windows): mingw's linker and windres, and NSIS.
ONSHI_WINDOWS_BUILD_PACKAGES=(gcc-mingw-w64-x86-64 nsis)
# Running the Windows build in the tests (scripts/test-windows): Wine 8 (64-bit).
ONSHI_WINDOWS_TEST_PACKAGES=(wine64)
