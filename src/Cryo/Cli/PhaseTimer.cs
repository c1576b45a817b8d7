using System.Diagnostics;

namespace Cryo.Cli;

/// <summary>Times the phases of a checkpoint or restore for the summary at the end.</summary>
internal sealed class PhaseTimer
{
    private readonly List<(string Phase, TimeSpan Time)> _phases = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;

    /// <summary>Ends the phase running since the previous call.</summary>
    public void End(string phase)
    {
        var now = _clock.Elapsed;
        _phases.Add((phase, now - _last));
        _last = now;
    }

    public TimeSpan Total => _clock.Elapsed;

    public string Summary() => string.Join(", ", _phases.Select(p => $"{p.Phase} {p.Time.TotalMilliseconds:F1} ms"));
}
