#!/usr/bin/env bash
# Rebuilds packages/demo/assets/sample-stereo.wav: a two-speaker conversation, one speaker per channel.
#
# Needs Debian's espeak-ng and sox (`apt-get install -y espeak-ng sox`; made with espeak-ng 1.51 and SoX 14.4.2).
# Only needed to remake the sample: the committed WAV is what the demo and its tests read.
#
# Recipe:
#   1. espeak-ng speaks eight lines at 165 words/minute: the left speaker is American English with the male
#      variant m3 (`en-us+m3`), the right speaker British English with the female variant f3 (`en-gb+f3`).
#   2. sox resamples each line to 16 kHz mono, 16-bit, and places it on its speaker's timeline:
#      the speakers take turns, each line starts 0.7 s after the previous one ends, 0.6 s of lead-in and tail, and
#      a 2 dB cut keeps the mix from clipping.
#   3. Each channel gets its own steady noise floor (white noise, about -54 dBFS RMS), so silence is not digital zero.
#   4. sox merges the two channels into 16-bit PCM stereo (left = speaker 1, right = speaker 2).
# `sox -R` keeps the noise and every conversion repeatable from run to run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../assets/sample-stereo.wav}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

rate=16000
gap=0.7
lead=0.6

left_voice="en-us+m3"
right_voice="en-gb+f3"
lines=(
  "L|Good morning. Is the recorder running on both channels?"
  "R|Yes. Your voice is on the left, and mine is on the right."
  "L|Then let us crash a component and see what is lost."
  "R|Recovery stops capture, flushes the buffers, and starts again."
  "L|And every sample still arrives exactly once."
  "R|Starting now."
)

t="$lead"
left_inputs=()
right_inputs=()
i=0
for entry in "${lines[@]}"; do
  side="${entry%%|*}"
  text="${entry#*|}"
  voice="$left_voice"
  [[ "$side" == "R" ]] && voice="$right_voice"
  espeak-ng -v "$voice" -s 165 -w "$work/raw-$i.wav" "$text"
  sox -R "$work/raw-$i.wav" -r "$rate" -c 1 -b 16 "$work/line-$i.wav" rate -h gain -2
  dur="$(soxi -D "$work/line-$i.wav")"
  sox -R "$work/line-$i.wav" "$work/placed-$i.wav" pad "$t" 0
  if [[ "$side" == "L" ]]; then left_inputs+=("-v" "1" "$work/placed-$i.wav"); else right_inputs+=("-v" "1" "$work/placed-$i.wav"); fi
  t="$(echo "$t + $dur + $gap" | bc -l)"
  i=$((i + 1))
done
total="$(echo "$t - $gap + $lead" | bc -l)"

sox -R -n -r "$rate" -c 2 -b 16 "$work/noise.wav" synth "$total" whitenoise vol 0.0035
for side in left right; do
  if [[ "$side" == "left" ]]; then inputs=("${left_inputs[@]}") channel=1; else inputs=("${right_inputs[@]}") channel=2; fi
  sox -R "$work/noise.wav" "$work/noise-$side.wav" remix "$channel"
  sox -R -m "${inputs[@]}" -v 1 "$work/noise-$side.wav" -b 16 "$work/$side.wav" trim 0 "$total"
done

sox -R -M "$work/left.wav" "$work/right.wav" -b 16 -e signed-integer "$out"
soxi "$out"
