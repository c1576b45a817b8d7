using Cryo.Interop;

namespace Cryo.Cli;

/// <summary>
/// A one-line progress display on a terminal for large images, fed by polling a byte counter
/// (so the hot path does no reporting work). Silent when stderr is not a terminal.
/// </summary>
internal sealed class ProgressBar : IDisposable
{
    private readonly Timer? _timer;
    private readonly Func<long> _done;
    private readonly long _total;
    private readonly string _what;

    public ProgressBar(string what, long total, Func<long> done)
    {
        _what = what;
        _total = total;
        _done = done;
        const long worthShowing = 256L << 20;
        if (total >= worthShowing && Native.IsATty(2) == 1)
            _timer = new Timer(_ => Draw(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
    }

    private void Draw()
    {
        long done = Math.Min(_done(), _total);
        int width = 30, filled = (int)(width * done / Math.Max(1, _total));
        Console.Error.Write($"\r{_what} [{new string('#', filled)}{new string('.', width - filled)}] {done >> 20}/{_total >> 20} MiB");
    }

    public void Dispose()
    {
        if (_timer is null) return;
        _timer.Dispose();
        Console.Error.Write("\r" + new string(' ', 70) + "\r");
    }
}
