namespace Cryo.Format;

/// <summary>A signal's disposition. Handler 0 is SIG_DFL, 1 is SIG_IGN, anything else an address in the process.</summary>
public readonly record struct SignalAction(uint Signal, ulong Handler, ulong Flags, ulong Restorer, ulong Mask);

/// <summary><c>SIGA</c>: the action of every signal whose action is not all zero (a SIG_DFL action may keep flags and a mask: SA_NOCLDWAIT of SIGCHLD acts without a handler), shared by all threads of a process.</summary>
public sealed record SignalHandlers(SignalAction[] Actions) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("SIGA");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.Count(Actions.Length);
        foreach (var a in Actions) { w.U32(a.Signal); w.U64(a.Handler); w.U64(a.Flags); w.U64(a.Restorer); w.U64(a.Mask); }
    }

    public static SignalHandlers Decode(ref PayloadReader r)
    {
        var actions = new SignalAction[r.Count("actions", 36)];
        for (int i = 0; i < actions.Length; i++)
        {
            uint signal = r.U32("signal");
            if (signal is 0 or > 64) throw r.Invalid("signal", signal, "signals are numbered 1 to 64");
            actions[i] = new SignalAction(signal, r.U64("handler"), r.U64("flags"), r.U64("restorer"), r.U64("mask"));
        }
        return new SignalHandlers(actions);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.List("actions", Actions.Select(a => (IReadOnlyList<ItemField>)
        [
            ItemField.Num("signal", a.Signal),
            // SIG_DFL and SIG_IGN are stable; a handler address moves with ASLR.
            a.Handler <= 1 ? ItemField.Num("handler", a.Handler) : ItemField.Addr("handler", a.Handler),
            ItemField.Hex("flags", a.Flags), ItemField.Addr("restorer", a.Restorer), ItemField.Hex("mask", a.Mask),
        ]).ToArray()),
    ];
}
