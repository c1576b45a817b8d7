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
        catch (Exception e) when (IsExpected(e))
        {
            log.Error($"{what} failed: {e.Message}");
            log.Info(e.ToString());
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failure no part of cryo describes is still one line, not a stack trace: the
            // checkpoint or restore already undid what it did on the way out (Checkpointer and
            // Restorer clean up on any exception). The stack is for the log.
            log.Error($"{what} failed: {e.Message} (unexpected {e.GetType().Name}: a bug in cryo; -v shows where)");
            log.Info(e.ToString());
            return 1;
        }
    }

    /// <summary>The failures that name what failed and why in their message.</summary>
    private static bool IsExpected(Exception e) =>
        e is UnsupportedResourceException or CheckpointFormatException or RestoreException or PidTakenException
            or SysCallException or TraceeGoneException or UnexpectedStopException or RemoteMemoryException
            or ProcFormatException or InvalidOperationException or IOException or UnauthorizedAccessException;
}
