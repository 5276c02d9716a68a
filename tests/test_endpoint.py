"""End of turn: the pure rule on synthetic frames, then real speech through the VAD path."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from speech_helpers import SR, silence, synth, white_noise, write_wav

from trainer.errors import AudioError, UsageError
from trainer.speech.endpoint import (
    Endpointer,
    EndpointOptions,
    NoReply,
    SpeechPaused,
    TurnEnded,
)
from trainer.speech.playback import PlayResult, RoundClock
from trainer.speech.sources import (
    SpeculativeTranscriber,
    TextSource,
    WavFileSource,
    make_source,
)
from trainer.speech.vad import SileroVad

F = 512  # samples per frame (32 ms)


def run(probs, options=None, timeout_origin=0):
    """Feed frames whose sample value is their index, with the given VAD probabilities."""
    ep = Endpointer(options or EndpointOptions())
    ep.timeout_origin_sample = timeout_origin
    events = []
    for i, p in enumerate(probs):
        frame = np.full(F, i, dtype=np.float32)
        for ev in ep.push(frame, p):
            events.append((i, ev))
        if ep.done:
            break
    return ep, events


def frames(seconds: float) -> int:
    return int(round(seconds * SR / F))


def kinds(events):
    return [type(ev).__name__ for _, ev in events]


# --- the pure rule ---------------------------------------------------------------------------
def test_turn_starts_at_speech_and_ends_after_silence_with_pre_roll_and_tail():
    o = EndpointOptions()
    probs = [0.02] * 20 + [0.95] * 40 + [0.03] * 40
    ep, events = run(probs, o)
    assert kinds(events) == ["SpeechStarted", "SpeechPaused", "TurnEnded"]
    started = events[0][1]
    assert started.onset_sample == 20 * F
    # confirmed once min_speech_s of speech was heard, not at the first frame
    assert events[0][0] == 20 + int(np.ceil(o.min_speech_s * SR / F)) - 1
    i_end, end = events[-1]
    assert end.end_sample == 60 * F and not end.capped
    # the silence was confirmed after silence_s, not before
    assert (i_end + 1) * F - end.end_sample >= o.silence_s * SR
    assert (i_end) * F - end.end_sample < o.silence_s * SR
    # audio = pre-roll + speech + tail, sample-exact (each frame holds its own index)
    assert end.audio_start_sample == 20 * F - round(o.pre_roll_s * SR)
    assert len(end.audio) == (60 * F + round(o.tail_s * SR)) - end.audio_start_sample
    assert end.audio[0] == (end.audio_start_sample // F)
    assert end.audio[-1] == (60 * F + round(o.tail_s * SR) - 1) // F


def test_short_blips_are_not_a_turn_and_silence_times_out():
    o = EndpointOptions(no_reply_timeout_s=2.0)
    probs = ([0.1] * 10 + [0.9, 0.9] + [0.05] * 5) * 10  # 64 ms noise bursts
    ep, events = run(probs, o)
    assert kinds(events) == ["NoReply"]
    i, ev = events[0]
    assert ev.at_sample == (i + 1) * F
    # on time, or just after a blip that was still being judged at the deadline
    assert 2.0 <= ev.at_sample / SR <= 2.0 + 3 * F / SR


def test_no_reply_timeout_counts_from_the_persona_end():
    o = EndpointOptions(no_reply_timeout_s=1.0)
    ep, events = run([0.0] * 200, o, timeout_origin=frames(2.0) * F)
    assert kinds(events) == ["NoReply"]
    assert abs(events[0][1].at_sample / SR - 3.0) <= F / SR


def test_a_pause_shorter_than_silence_s_keeps_the_turn_going():
    o = EndpointOptions(silence_s=0.7)
    probs = [0.0] * 5 + [0.9] * 30 + [0.02] * frames(0.45) + [0.9] * 30 + [0.0] * 40
    ep, events = run(probs, o)
    assert kinds(events) == ["SpeechStarted", "SpeechPaused", "SpeechResumed", "SpeechPaused",
                             "TurnEnded"]
    end = events[-1][1]
    assert end.onset_sample == 5 * F
    assert end.end_sample == (5 + 30 + frames(0.45) + 30) * F


def test_hysteresis_in_between_probabilities_do_not_end_a_turn():
    o = EndpointOptions(vad_threshold=0.5)  # silence below 0.35
    probs = [0.0] * 5 + [0.9] * 10 + [0.4] * 60 + [0.9] * 10 + [0.1] * 40
    ep, events = run(probs, o)
    assert kinds(events) == ["SpeechStarted", "SpeechPaused", "TurnEnded"]
    assert events[-1][1].end_sample == (5 + 10 + 60 + 10) * F


def test_long_speech_is_capped_and_the_next_part_goes_on_from_the_cut():
    o = EndpointOptions(max_reply_s=5.0, cap_grace_s=1.0)
    ep, events = run([0.0] * 10 + [0.95] * 1000, o)  # 32 s without a pause
    assert kinds(events) == ["SpeechStarted", "TurnEnded"]
    end = events[-1][1]
    assert end.capped and len(end.rest) == 0  # no pause: cut mid-speech after the grace
    assert abs((end.end_sample - end.onset_sample) / SR - 6.0) <= F / SR
    assert end.audio[-1] == end.end_sample // F - 1  # the audio ends exactly at the cut
    # the next part starts with the very next sample and needs no onset
    nxt = Endpointer(o, continuing=True)
    first = end.end_sample // F
    evs = []
    for i in range(first, first + 400):
        evs += nxt.push(np.full(F, i, np.float32), 0.95)
        if nxt.done:
            break
    part2 = evs[-1]
    assert isinstance(part2, TurnEnded) and part2.capped
    assert part2.onset_sample == part2.audio_start_sample == 0
    assert part2.audio[0] == first  # not a sample lost or repeated between the parts


def _part(ep, frames_probs, start_index):
    """Push frames (sample value = index) into `ep` until it is done: (events, next index)."""
    evs, i = [], start_index
    for p in frames_probs:
        evs += ep.push(np.full(F, i, np.float32), p)
        i += 1
        if ep.done:
            break
    return evs, i


def test_a_cap_waits_for_a_pause_and_the_rest_of_the_reply_is_kept():
    o = EndpointOptions(max_reply_s=3.0, cap_grace_s=5.0)
    talk = ([0.95] * 40 + [0.05] * 8) * 3 + [0.95] * 30 + [0.02] * 60  # phrases, 0.26 s gaps
    ep = Endpointer(o)
    evs, i = _part(ep, [0.0] * 5 + talk, 0)
    cut = evs[-1]
    assert isinstance(cut, TurnEnded) and cut.capped
    # where the user talked on after the first pause begun past 3 s: never mid-word
    assert (cut.end_sample // F - 5) % 48 == 0
    assert 3.0 <= (cut.end_sample - cut.onset_sample) / SR <= 3.0 + 48 * F / SR
    assert len(cut.rest) == i * F - cut.end_sample == F  # the first frame of the next words
    nxt = Endpointer(o, continuing=True)
    evs2 = nxt.push(cut.rest, 0.95)
    more, _ = _part(nxt, talk[i - 5:], i)
    end = (evs2 + more)[-1]
    assert isinstance(end, TurnEnded) and not end.capped
    # the two parts together are every sample from the first part's start, once
    whole = np.concatenate([cut.audio, nxt._audio(0, nxt.pos)])
    assert np.array_equal(whole[::F], np.arange(cut.audio_start_sample // F,
                                               cut.audio_start_sample // F + len(whole) // F))
    assert end.end_sample > end.onset_sample == 0


def test_a_reply_that_stops_past_the_cap_ends_as_usual():
    o = EndpointOptions(max_reply_s=3.0)
    ep, events = run([0.0] * 5 + [0.95] * 100 + [0.02] * 100, o)
    end = events[-1][1]
    assert isinstance(end, TurnEnded) and not end.capped and end.end_sample == 105 * F
    # a continuing part that only hears silence reports an empty part: the reply was over
    nxt = Endpointer(o, continuing=True)
    evs, _ = _part(nxt, [0.02] * 100, 0)
    assert isinstance(evs[-1], TurnEnded) and evs[-1].end_sample == evs[-1].onset_sample == 0
    assert nxt.pos / SR >= o.silence_s


def test_the_closing_silence_can_be_set_per_pause():
    o = EndpointOptions(silence_s=0.7)
    ep = Endpointer(o)
    waits = iter([1.5, 0.3])  # long after the first phrase, short after the second
    events = []
    probs = [0.0] * 5 + [0.9] * 30 + [0.02] * frames(1.0) + [0.9] * 30 + [0.02] * 60
    for i, p in enumerate(probs):
        if ep.paused and ep.end_silence_s is None:
            ep.end_silence_s = next(waits)
        events += [(i, e) for e in ep.push(np.full(F, i, np.float32), p)]
        if ep.done:
            break
    assert kinds(events) == ["SpeechStarted", "SpeechPaused", "SpeechResumed", "SpeechPaused",
                             "TurnEnded"]
    i_end, end = events[-1]
    assert end.end_sample == (5 + 30 + frames(1.0) + 30) * F  # the 1 s pause did not end it
    assert abs(((i_end + 1) * F - end.end_sample) / SR - 0.3) <= F / SR


def test_no_cap_when_max_reply_s_is_none():
    o = EndpointOptions(max_reply_s=None)
    ep, events = run([0.0] * 10 + [0.95] * frames(90) + [0.0] * 40, o)
    end = events[-1][1]
    assert not end.capped
    assert abs((end.end_sample - end.onset_sample) / SR - 90) < 0.05


def test_pause_audio_is_the_final_audio_when_the_silence_holds():
    probs = [0.0] * 30 + [0.9] * 50 + [0.0] * 40
    ep, events = run(probs)
    paused = [ev for _, ev in events if isinstance(ev, SpeechPaused)][0]
    end = [ev for _, ev in events if isinstance(ev, TurnEnded)][0]
    assert np.array_equal(paused.audio, end.audio)
    assert paused.audio_start_sample == end.audio_start_sample


def test_waiting_keeps_bounded_memory():
    o = EndpointOptions(no_reply_timeout_s=None)
    ep = Endpointer(o)
    for _ in range(frames(600)):  # ten minutes of silence
        ep.push(np.zeros(F, np.float32), 0.0)
    assert ep._kept_len < 2 * SR


def test_flush_ends_speech_that_runs_to_the_end_of_input():
    ep, events = run([0.0] * 5 + [0.9] * 20)
    assert kinds(events) == ["SpeechStarted"]
    (ev,) = ep.flush()
    assert isinstance(ev, TurnEnded) and ev.end_sample == 25 * F
    ep2, _ = run([0.0] * 5)
    assert isinstance(ep2.flush()[0], NoReply)


@pytest.mark.parametrize("kw", [dict(tail_s=0.8, silence_s=0.7), dict(silence_s=0),
                                dict(vad_threshold=1.5), dict(max_reply_s=-1)])
def test_bad_options_are_one_clear_error(kw):
    with pytest.raises(UsageError, match="bad end-of-turn options"):
        EndpointOptions(**kw)


# --- real speech through Silero VAD (WavFileSource: the microphone's detector path) ------------
REPLY = "Hello, I work on data pipelines at a small startup."


def speech_span(audio: np.ndarray) -> tuple[float, float]:
    """Where a clip's speech is by energy (10 ms windows above -40 dBFS): the truth."""
    fr = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    db = 20 * np.log10(np.sqrt((fr**2).mean(axis=1)) + 1e-9)
    idx = np.where(db > -40)[0]
    return idx[0] / 100, (idx[-1] + 1) / 100


@pytest.fixture
def wav(tmp_path):
    def make(name, *parts):
        return write_wav(tmp_path / name, np.concatenate(parts))
    return make


def test_wav_reply_times_match_the_speech(wav):
    speech = synth(REPLY)
    on, off = speech_span(speech)
    path = wav("r.wav", silence(1.2), speech, silence(0.3))
    SileroVad()  # load the model first, so the file starts when listen() is called
    clock = RoundClock()
    src = WavFileSource([path], clock=clock)
    t0 = clock.now()
    utt = src.listen(after=PlayResult(start_s=0.0, end_s=t0, duration_s=t0))
    assert abs(utt.start_s - (t0 + 1.2 + on)) < 0.1
    assert abs(utt.end_s - (t0 + 1.2 + off)) < 0.1
    assert abs(utt.pause_before_s - (1.2 + on)) < 0.1
    assert not utt.interrupted and not utt.capped and not utt.timed_out
    # the audio: pre-roll before the start, the tail after the end
    assert utt.audio_start_s == pytest.approx(utt.start_s - src.options.pre_roll_s, abs=0.001)
    assert len(utt.audio) / SR == pytest.approx(utt.end_s + src.options.tail_s
                                                - utt.audio_start_s, abs=0.002)
    # the clock took the time the reply would have taken live (to the end of the silence)
    assert clock.now() >= utt.end_s + src.options.silence_s
    assert src.listen() is None  # files ran out


def test_silence_and_white_noise_files_are_no_reply(wav):
    src = WavFileSource([wav("s.wav", silence(3)), wav("n.wav", white_noise(3, 0.1)),
                         wav("loud.wav", white_noise(3, 0.3, seed=2))])
    for _ in range(3):
        utt = src.listen()
        assert utt.timed_out and utt.audio is None


def test_a_long_pause_splits_a_reply_and_a_short_one_does_not(wav):
    a, b = synth("I moved here last spring."), synth("Mostly for the job, honestly.")
    src = WavFileSource([wav("short.wav", silence(0.5), a, silence(0.35), b, silence(0.3)),
                         wav("long.wav", silence(0.5), a, silence(1.5), b, silence(0.3))])
    whole = src.listen()
    assert whole.duration_s > (len(a) + len(b)) / SR - 0.8
    first = src.listen()
    assert first.duration_s < len(a) / SR


def test_a_two_minute_reply_comes_in_parts_that_lose_no_sample(wav):
    """Issue 14, probe 8: the cap (45 s) used to drop everything after it. Now the reply comes
    in consecutive parts, each cut at a pause, and the parts are the file's audio, whole."""
    words = ("We built the first version in a garage, then moved into a small office, and "
             "every week we shipped something new for the farmers we worked with. ")
    speech = np.concatenate([synth(words)] * 14)[: 120 * SR]
    path = wav("long.wav", silence(0.5), speech, silence(0.3))
    src = WavFileSource([path, wav("next.wav", silence(0.3), synth("Thanks."), silence(0.3))])
    parts = [src.listen()]
    file_t0 = src._t_first  # round time of the file's first sample
    while parts[-1].capped:
        assert src.remaining == 2  # the same file goes on
        parts.append(src.listen())
    assert [p.capped for p in parts] == [True, True, False]
    assert [p.continued for p in parts] == [False, True, True]
    o = src.options
    for a, b in zip(parts, parts[1:], strict=False):
        assert b.start_s == pytest.approx(a.end_s, abs=1e-6)  # back to back
        assert b.audio_start_s == pytest.approx(a.end_s, abs=1e-6)
        assert o.max_reply_s <= a.duration_s <= o.max_reply_s + o.cap_grace_s
        assert b.pause_before_s is None and not b.interrupted
    on, off = speech_span(speech)
    assert parts[-1].end_s - parts[0].start_s == pytest.approx(off - on, abs=0.15)
    # every sample from the first part's pre-roll to the last part's tail, once, in order
    from trainer.speech.sources import load_audio

    got = np.concatenate([p.audio for p in parts])
    clip = np.concatenate([load_audio(path), silence(2.0)])  # (the source pads silence)
    at = int(round((parts[0].audio_start_s - file_t0) * SR))
    assert np.array_equal(got, clip[at:at + len(got)])
    nxt = src.listen()
    assert not nxt.continued and not nxt.capped and nxt.duration_s < 2  # the next file
    assert src.listen() is None


def test_no_cap_when_none_keeps_a_sixty_second_reply_whole(wav):
    words = ("We built the first version in a garage, then moved into a small office, and "
             "every week we shipped something new for the farmers we worked with. ")
    speech = np.concatenate([synth(words)] * 7)[: 60 * SR]
    path = wav("long.wav", silence(0.5), speech, silence(0.3))
    whole = WavFileSource([path], options=EndpointOptions(max_reply_s=None)).listen()
    assert not whole.capped
    on, off = speech_span(speech)
    assert whole.duration_s == pytest.approx(off - on, abs=0.15)


def test_speculative_transcription_is_reused_only_when_the_turn_ended_there(wav):
    calls = []

    def transcribe(audio):  # a real function of the audio: its length and checksum
        calls.append(len(audio))
        return (len(audio), float(np.abs(audio).sum()))

    a, b = synth("I moved here last spring."), synth("Mostly for the job.")
    src = WavFileSource([wav("one.wav", silence(0.5), a, silence(0.3)),
                         wav("two.wav", silence(0.5), a, silence(0.5), b, silence(0.3))])
    spec = SpeculativeTranscriber(transcribe)
    utt = src.listen(on_pause=spec.on_pause)
    assert spec.transcribe(utt.audio) == (len(utt.audio), float(np.abs(utt.audio).sum()))
    assert spec.last_reused and calls == [len(utt.audio)]
    calls.clear()
    utt2 = src.listen(on_pause=spec.on_pause)  # paused after `a`, then spoke again
    result = spec.transcribe(utt2.audio)
    assert result[0] == len(utt2.audio)
    assert spec.drafts_started >= 2
    assert calls[-1] == len(utt2.audio)
    spec.close()


def test_a_pause_reported_twice_is_drafted_once(wav):
    """listen()'s on_pause and an AdaptiveEndOfTurn over the same transcriber both report
    each pause: one draft, not a second one queued behind the first (issue 15: that cost a
    whole transcription, ~0.2 s, on every turn of the latency benchmark)."""
    from trainer.speech.sources import AdaptiveEndOfTurn

    calls = []

    def transcribe(audio):
        calls.append(len(audio))
        return len(audio)

    src = WavFileSource([wav("one.wav", silence(0.5), synth("How did you start?"),
                             silence(0.8))])
    spec = SpeculativeTranscriber(transcribe)
    policy = AdaptiveEndOfTurn(spec, lambda result, voiced_s: 0.3)
    utt = src.listen(on_pause=spec.on_pause, end_of_turn=policy)
    assert spec.transcribe(utt.audio) == len(utt.audio)
    assert spec.last_reused and calls == [len(utt.audio)] and spec.drafts_started == 1
    spec.close()


def test_speculative_analysis_runs_on_the_draft_worker_while_the_silence_is_confirmed(wav):
    """The place for work on the draft's text (e.g. its sentence embedding) that should not
    add to the turn's latency: it runs on the draft worker right after the draft."""
    import threading

    seen = []

    def transcribe(audio):
        return f"{len(audio)} samples"

    def analyse(result):
        seen.append((result, threading.current_thread().name))
        return result.upper()

    src = WavFileSource([wav("one.wav", silence(0.5), synth("I moved here last spring."),
                             silence(0.3))])
    spec = SpeculativeTranscriber(transcribe, analyse_fn=analyse)
    utt = src.listen(on_pause=spec.on_pause)
    result = spec.transcribe(utt.audio)
    assert spec.last_reused and spec.analysis() == result.upper()
    assert seen == [(result, seen[0][1])] and seen[0][1].startswith("asr-draft")
    # audio no draft was made of: transcribed and analysed on the spot
    other = spec.transcribe(utt.audio[:-512])
    assert not spec.last_reused and spec.analysis() == other.upper()
    assert seen[-1] == (other, threading.current_thread().name)
    spec.close()


def test_missing_or_broken_wav_is_one_clear_error(tmp_path):
    with pytest.raises(AudioError, match="no such audio file"):
        WavFileSource([tmp_path / "nope.wav"])
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file at all")
    with pytest.raises(AudioError, match="cannot read audio file"):
        WavFileSource([bad]).listen()


# --- typed replies and source choice ----------------------------------------------------------
def test_typed_replies_carry_text_time_and_pause():
    answers = iter(["I work on pipelines, and you?", "", None])
    clock = RoundClock()
    src = TextSource(prompt=lambda: next(answers), clock=clock)
    clock.skip(10.0)
    utt = src.listen(after=PlayResult(start_s=5.0, end_s=9.0, duration_s=4.0))
    assert utt.text == "I work on pipelines, and you?" and utt.audio is None
    assert 9.0 <= utt.start_s <= utt.end_s
    assert utt.pause_before_s == pytest.approx(utt.start_s - 9.0)
    assert utt.audio_start_s is None  # no audio
    empty = src.listen()
    assert empty.timed_out and empty.text == ""
    assert src.listen() is None


def test_make_source_picks_by_input(tmp_path):
    path = write_wav(tmp_path / "a.wav", silence(1))
    assert make_source(["text"]).kind == "text"
    assert make_source([str(path)]).kind == "wav"
    with pytest.raises(UsageError):
        make_source(["mic", str(path)])


def test_no_voice_lines_take_their_estimated_time_on_the_round_clock():
    from trainer.speech.playback import SilentPlayer
    from trainer.speech.tts import SilentVoice

    clock = RoundClock()
    player, voice = SilentPlayer(clock=clock), SilentVoice(rate_wpm=170)
    line = "Hi there, come on over! I'm Dana, I recruit for Northwind Logistics."
    t0 = time.monotonic()
    result = player.play(*voice.synth(line))
    assert time.monotonic() - t0 < 0.1  # nothing was played or waited for
    assert result.silent
    assert result.duration_s == pytest.approx(voice.estimate_s(line), abs=0.001)
    assert clock.now() >= result.end_s  # the clock moved on by the line's length
    src = TextSource(prompt=lambda: "Hi Dana, nice to meet you.", clock=clock)
    utt = src.listen(after=result)
    assert utt.start_s >= result.end_s and utt.pause_before_s >= 0


def test_a_reply_with_several_pauses_waits_for_at_most_one_stale_draft(wav):
    """Every pause used to queue one more full transcription on the single draft worker, and
    the final transcript waited for all of them (~3 s late in a live round). Now a pause
    supersedes the previous draft, so after the end of the turn the result needs at most the
    one stale draft already running plus its own transcription."""
    from speech_helpers import shared_transcriber

    asr = shared_transcriber("faster-whisper")
    runs = []  # (started, finished, samples) per real transcription

    def transcribe(audio):
        t0 = time.monotonic()
        tr = asr.transcribe(audio, sample_rate_hz=SR)
        # at least 1 s per transcription, as for a bigger model or a slower laptop: longer
        # than the gaps between the phrases, so drafts pile up unless superseded
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
        runs.append((t0, time.monotonic(), len(audio)))
        return tr

    phrases = ["I moved here last spring.", "Mostly for the job.", "My sister lives nearby.",
               "And I love the coast."]
    parts = [silence(0.5)]
    for phrase, gap in zip(phrases, (0.5, 0.4, 0.6, 0.3), strict=True):
        speech = synth(phrase)
        on, off = speech_span(speech)  # espeak-ng pads its own silence: trim it
        parts += [speech[int(on * SR):int(off * SR)], silence(gap)]  # gaps < silence_s
    src = WavFileSource([wav("pauses.wav", *parts)])
    spec = SpeculativeTranscriber(transcribe)
    pauses = []

    def on_pause(audio):
        pauses.append(len(audio))
        spec.on_pause(audio)

    utt = src.listen(on_pause=on_pause)
    t_end = time.monotonic()
    result = spec.transcribe(utt.audio)
    t_done = time.monotonic()
    spec.close()
    assert len(pauses) >= 4 and utt.duration_s > 5  # one turn with a pause per phrase
    assert "coast" in result.text.lower()  # the whole reply, not a stale draft
    started_after_end = [r for r in runs if r[0] >= t_end]
    finished_while_waiting = [r for r in runs if t_end <= r[1] <= t_done]
    assert len(started_after_end) <= 1, runs  # no queue of drafts left to run
    assert len(finished_while_waiting) <= 2, runs  # one stale draft + the final at most
    assert spec.drafts_cancelled >= len(pauses) - 2  # superseded drafts never ran
    assert len(runs) <= 3


# --- a long reply in a round (issue 14, probe 8) --------------------------------------------
def test_a_two_minute_reply_is_stored_in_parts_answered_once_and_fails_the_monologue_target(
        wav, trainer_home, tmp_path):
    from rich.console import Console
    from speech_helpers import shared_transcriber

    from trainer.live import Screen
    from trainer.personas import load_persona
    from trainer.practice import PracticeOptions, Round
    from trainer.round_setup import ModelLoader
    from trainer.speech.playback import SilentPlayer
    from trainer.speech.tts import SilentVoice
    from trainer.store import Store

    words = ("We built the first version in a garage, then moved into a small office, and "
             "every week we shipped something new for the farmers we worked with. ")
    # two minutes (espeak-ng's own pauses between the sentences are under silence_s)
    speech = np.concatenate([synth(words)] * 14 + [synth("And that is why I came to the fair.")])
    assert len(speech) / SR > 115  # about two minutes
    paths = [wav("long.wav", silence(0.5), speech, silence(0.3)),
             wav("q.wav", silence(0.4), synth("What does Northwind do exactly?"), silence(0.5))]
    clock = RoundClock()
    console = Console(file=open(tmp_path / "screen.txt", "w"), width=100)  # noqa: SIM115
    rnd = Round(persona=load_persona("dana"), source=WavFileSource(paths, clock=clock),
                asr=ModelLoader.holding(shared_transcriber("faster-whisper")),
                voice=SilentVoice(), player=SilentPlayer(clock), store=Store(),
                screen=Screen(console), options=PracticeOptions(seed=2, voice=False))
    result = rnd.run()
    assert result.status == "completed" and result.end_reason == "out_of_input"
    rec = Store(trainer_home).load_session(result.session_id)
    turns = rec.turns
    first_user = next(i for i, t in enumerate(turns) if t.speaker == "user")
    parts = []
    for t in turns[first_user:]:
        if t.speaker != "user":
            break
        parts.append(t)
    # three consecutive user turns, each stored with its audio and its words; no persona
    # line between them
    assert len(parts) == 3
    assert [bool(p.meta.get("capped")) for p in parts] == [True, True, False]
    assert [bool(p.meta.get("continued")) for p in parts] == [False, True, True]
    for p in parts:
        assert p.text and p.audio_path and Path(p.audio_path).is_file() and p.words
    for a, b in zip(parts, parts[1:], strict=False):
        assert b.start_s == pytest.approx(a.end_s, abs=0.002)
    assert "to the fair" in parts[-1].text.lower()  # the very end was heard
    assert parts[-1].end_s - parts[0].start_s > 115
    # the persona answered the whole reply once, then the next question
    users = [t for t in turns if t.speaker == "user"]
    assert len(users) == 4 and "northwind" in users[-1].text.lower()
    assert rnd.conversation.turns == 2
    # scored as what it was: one two-minute monologue, over the 60 s target
    mono = next(m for m in result.scorecard.metrics if m.key == "longest_monologue")
    assert mono.value > 115 and mono.passed is False


def _voice_then_silence(voice_s: float, silence_after_s: float = 0.3):
    """A voiced tone (low band) of `voice_s`, then silence: its voiced end is at voice_s."""
    t = np.arange(int(voice_s * 16_000)) / 16_000
    tone = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    return np.concatenate([tone, np.zeros(int(silence_after_s * 16_000), np.float32)])


def _heard(text: str, last_end_s: float):
    from trainer.types import Transcript, Word

    words = text.split()
    step = last_end_s / len(words)
    return Transcript(text=text, words=[Word(w, round(i * step, 3), round((i + 1) * step, 3))
                                        for i, w in enumerate(words)])


def _judged(draft, second, voice_s=2.0):
    """(the pause the adaptive end of turn settles on, second opinions asked) for one pause
    whose draft is `draft` and whose second opinion (a beam search) is `second`."""
    from trainer.speech.sources import AdaptiveEndOfTurn
    from trainer.turn_end import EndOfTurnOptions, draft_judge

    spec = SpeculativeTranscriber(lambda audio: draft)
    asked = []

    def recheck(audio):
        asked.append(len(audio))
        return second

    policy = AdaptiveEndOfTurn(spec, draft_judge("How is the fair going for you?"),
                               recheck=recheck)
    policy.on_pause(_voice_then_silence(voice_s))
    try:
        return policy.silence_s(block=True), asked, EndOfTurnOptions()
    finally:
        spec.close()


def test_a_misheard_finished_draft_gets_a_second_opinion_and_a_short_wait():
    """Issue 15: greedy tiny.en heard "I volunteer at a food bank on weekends." as "I'm Alan
    Tierr at a Foodman Con weekend.", whose last word ends 0.15 s before the voice: read as a
    dropped word, the pause waited 1.4 s. The second opinion's words reach the voice's end."""
    wait, asked, o = _judged(_heard("I'm Alan Tierr at a Foodman Con weekend.", 1.85),
                             _heard("I volunteer at a food bank on weekends.", 2.0))
    assert len(asked) == 1
    assert wait == pytest.approx(o.finished_s)


def test_a_dropped_and_stays_a_long_wait_when_the_second_opinion_hears_it_or_drops_it_too():
    """A reply cut after "and" must not be cut off: the second opinion either hears the "and"
    (unfinished by its words) or drops it too (its words stop before the voice again)."""
    draft = _heard("I work on data pipelines.", 1.75)
    # the last: heard in the full benchmark, the dropped "and" as a finished "then."
    for second in (_heard("I work on data pipelines and", 2.0),
                   _heard("I work on data pipelines.", 1.78),
                   _heard("I work on data pipeline then.", 2.0)):
        wait, asked, o = _judged(draft, second)
        assert len(asked) == 1
        assert wait >= o.unfinished_s


def test_a_second_opinion_that_runs_on_is_ignored_and_none_is_asked_without_need():
    """A beam search sometimes appends a hallucinated "Thanks for watching, bye bye..." to
    clean speech; a second opinion far longer than the draft is not believed. And a draft
    that ends on its voice, or on "and", needs no second opinion at all."""
    run_on = _heard("I work on data pipelines. Thanks for watching, see you next time bye", 2.0)
    wait, asked, o = _judged(_heard("I work on data pipelines.", 1.75), run_on)
    assert len(asked) == 1 and wait >= o.unfinished_s
    wait, asked, o = _judged(_heard("I work on data pipelines.", 2.0), run_on)
    assert asked == [] and wait == pytest.approx(o.finished_s)
    wait, asked, o = _judged(_heard("I work on data pipelines and", 1.7), run_on)
    assert asked == [] and wait >= o.unfinished_s
