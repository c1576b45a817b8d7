using System.Runtime.InteropServices;

namespace Cryo.Cli;

/// <summary>
/// Turns SIGINT, SIGTERM and SIGHUP into a cancellation request instead of sudden death, so a
/// checkpoint can give the target back its threads and a restore can kill what it created.
/// </summary>
internal sealed class CancelOnSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly List<PosixSignalRegistration> _registrations = [];

    public CancellationToken Token => _source.Token;

    public static CancelOnSignals Create(Log log)
    {
        var cancel = new CancelOnSignals();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            cancel._registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                log.Warn($"{context.Signal} received: stopping at the next safe point");
                cancel._source.Cancel();
            }));
        return cancel;
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _source.Dispose();
    }
}
