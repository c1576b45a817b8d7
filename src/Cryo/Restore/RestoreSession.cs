using Cryo.Format;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>Options of one restore.</summary>
/// <param name="InheritedFds">
/// Descriptions of the image that are not made anew but taken from one of cryo's own descriptors:
/// by their /proc link as the image has it ("pipe:[N]"), cryo's fd (--inherit-fd). For an end the
/// checkpointed tree shared with a process outside it (`prog | cat`), which cryo cannot recreate.
/// </param>
/// <param name="Terminal">--tty: the terminal put in place of the image's terminals (null: cryo's own).</param>
internal sealed record RestoreOptions(bool Detach, IReadOnlyDictionary<string, int>? InheritedFds = null, string? Terminal = null);

/// <summary>
/// What spans the processes of one restore: the tracer, the processes created so far (all of
/// them are killed if the restore fails), the header of the image, and per-kind shared state
/// (e.g. pipes whose ends several processes hold).
/// </summary>
internal sealed class RestoreSession(Tracer tracer, CheckpointHeader header, RestoreOptions options) : IDisposable
{
    private readonly Dictionary<Type, object> _state = [];

    public Tracer Tracer { get; } = tracer;
    public CheckpointHeader Header { get; } = header;
    public RestoreOptions Options { get; } = options;
    public List<RestoringProcess> Processes { get; } = [];

    /// <summary>Pids created by this restore (processes and helper stubs): killed and reaped if it fails.</summary>
    public List<int> CreatedPids { get; } = [];

    /// <summary>Zombies recreated (pid, parent pid): ended and left for their parents to reap.</summary>
    public List<(int Pid, int Parent)> Zombies { get; } = [];

    /// <summary>Processes whose process group did not exist yet when they were born: (pid, group).</summary>
    public List<(int Pid, int Group)> DeferredGroups { get; } = [];

    /// <summary>
    /// What a failed restore undoes besides killing its processes: objects it made outside them
    /// (System V segments). Run in reverse order, after the kill.
    /// </summary>
    public List<Action> UndoOnFailure { get; } = [];

    /// <summary>What the restore could not recreate exactly, also printed on stderr.</summary>
    public List<string> Warnings { get; } = [];

    public void Warn(string message)
    {
        Warnings.Add(message);
        Console.Error.WriteLine($"cryo: warning: {message}");
    }

    public T State<T>() where T : class, new()
    {
        if (!_state.TryGetValue(typeof(T), out var state)) _state[typeof(T)] = state = new T();
        return (T)state;
    }

    /// <summary>Releases what the kinds hold in this session (cryo's own copies of fds, pipes).</summary>
    public void Dispose()
    {
        foreach (var state in _state.Values.OfType<IDisposable>()) state.Dispose();
        _state.Clear();
    }
}
