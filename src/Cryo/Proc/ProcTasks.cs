using System.Collections.Immutable;

namespace Cryo.Proc;

/// <summary>The thread ids of a process, from the entries of /proc/PID/task.</summary>
internal static class ProcTasks
{
    public static ImmutableArray<int> Read(int pid)
    {
        string path = ProcFiles.PathOf(pid, "task");
        try
        {
            return Parse(Directory.EnumerateDirectories(path).Select(Path.GetFileName), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProcFormatException(path, $"cannot list ({e.Message}); has the process exited?", e);
        }
    }

    /// <summary>Sorted tids from directory entry names.</summary>
    public static ImmutableArray<int> Parse(IEnumerable<string?> entryNames, string file = "task") =>
        [.. entryNames.Select(name => (int)ProcFiles.ParseLong(name, file, "task entry")).Order()];
}
