namespace Cryo.Cli;

/// <summary>
/// cryo's messages: errors and warnings always go to stderr; with -v progress notes too; with
/// --log-file everything, time-stamped, also goes to the file.
/// </summary>
internal sealed class Log(bool verbose, TextWriter? file) : IDisposable
{
    private readonly object _gate = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public static Log Open(bool verbose, string? path) =>
        new(verbose, path is null ? null : new StreamWriter(path, append: true) { AutoFlush = true });

    public void Info(string message) => Write("info", message, verbose);
    public void Warn(string message) => Write("warning", message, toStderr: true);
    public void Error(string message) => Write("error", message, toStderr: true);

    private void Write(string level, string message, bool toStderr)
    {
        lock (_gate)
        {
            if (toStderr) Console.Error.WriteLine($"cryo: {(level == "info" ? "" : level + ": ")}{message}");
            file?.WriteLine($"{DateTime.UtcNow:O} +{_clock.Elapsed.TotalMilliseconds,9:F2}ms {level}: {message}");
        }
    }

    public void Dispose() => file?.Dispose();
}
