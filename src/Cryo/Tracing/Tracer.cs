using System.Runtime.ExceptionServices;

namespace Cryo.Tracing;

/// <summary>
/// Owns one dedicated OS thread that makes every ptrace and waitpid call. The kernel binds a
/// tracee to the thread that attached it (ptrace from any other thread fails with ESRCH), and
/// any thread of this process could consume a tracee's stop notification, so all of them go
/// through here. Callers block until their operation has run on the tracer thread; exceptions
/// are rethrown to them with their original stack. Operations called from the tracer thread
/// itself (composites) run inline.
/// </summary>
internal sealed partial class Tracer : IDisposable
{
    private readonly Thread thread;
    private readonly object callerGate = new();
    private readonly SemaphoreSlim workReady = new(0);
    private readonly SemaphoreSlim workDone = new(0);
    private Action? work;
    private ExceptionDispatchInfo? workFailure;
    private bool disposed;

    public Tracer(string name = "cryo-tracer")
    {
        // Background: a tracer stuck in waitpid on a wedged tracee must not keep the process alive.
        thread = new Thread(Loop) { Name = name, IsBackground = true };
        thread.Start();
    }

    /// <summary>True when called on the tracer thread.</summary>
    public bool IsTracerThread => Thread.CurrentThread == thread;

    private void Loop()
    {
        while (true)
        {
            workReady.Wait();
            var item = work;
            if (item is null) return; // Dispose posts an empty item.
            try
            {
                item();
            }
            catch (Exception e)
            {
                workFailure = ExceptionDispatchInfo.Capture(e);
            }
            work = null;
            workDone.Release();
        }
    }

    /// <summary>Runs <paramref name="action"/> on the tracer thread and waits for it.</summary>
    public void Run(Action action)
    {
        if (IsTracerThread)
        {
            action();
            return;
        }
        lock (callerGate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            work = action;
            workReady.Release();
            workDone.Wait();
            var failure = workFailure;
            workFailure = null;
            failure?.Throw();
        }
    }

    /// <summary>Runs <paramref name="function"/> on the tracer thread and returns its result.</summary>
    public T Run<T>(Func<T> function)
    {
        if (IsTracerThread) return function();
        T result = default!;
        Run(() => { result = function(); });
        return result;
    }

    /// <summary>Detaches (or leaves to the kernel) every tracee still attached, then ends the thread.</summary>
    public void Dispose()
    {
        if (IsTracerThread)
            throw new InvalidOperationException("a Tracer cannot be disposed from its own thread (it would join itself)");
        lock (callerGate)
        {
            if (disposed) return;
        }
        try
        {
            Run(ReleaseAllTracees);
        }
        finally
        {
            lock (callerGate)
            {
                disposed = true;
                work = null;
                workReady.Release();
            }
            // When the thread ends the kernel detaches anything still traced.
            thread.Join(TimeSpan.FromSeconds(10));
            workReady.Dispose();
            workDone.Dispose();
        }
    }
}
