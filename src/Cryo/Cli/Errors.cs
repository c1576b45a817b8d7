using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Cli;

/// <summary>Turns the failures of a command into one clear message and exit code 1.</summary>
internal static class Errors
{
    public static int Guard(Log log, string what, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            log.Error($"{what} cancelled; {(what.StartsWith("checkpoint") ? "the process runs on unharmed and no file was written" : "every process it created was killed")}");
            return 1;
        }
        catch (Exception e) when (e is UnsupportedResourceException or CheckpointFormatException or RestoreException or SysCallException
                                      or TraceeGoneException or UnexpectedStopException or RemoteMemoryException or ProcFormatException
                                      or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            log.Error($"{what} failed: {e.Message}");
            log.Info(e.ToString());
            return 1;
        }
    }
}
