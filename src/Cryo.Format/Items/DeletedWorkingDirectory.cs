namespace Cryo.Format;

/// <summary>
/// <c>DCWD</c>: the process's working directory was deleted (rmdir) while it was there: its
/// path (absolute, as it was before the deletion; also the <c>cwd</c> of the <c>PINF</c>), mode
/// and owner. Written right after the <c>PINF</c> of such a process. A restore makes an empty
/// directory at that path (beside it if the name is taken), with that mode and owner, makes it
/// the process's working directory and removes it again, so the process is in a deleted
/// directory as before: files cannot be made there and <c>getcwd</c> fails.
/// </summary>
public sealed record DeletedWorkingDirectory(byte[] Path, uint Mode, uint Uid, uint Gid) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("DCWD");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.Bytes16(Path); w.U32(Mode); w.U32(Uid); w.U32(Gid); }

    public static DeletedWorkingDirectory Decode(ref PayloadReader r)
    {
        byte[] path = r.Bytes16("path");
        if (path.Length < 2 || path[0] != (byte)'/' || Array.IndexOf(path, (byte)0) >= 0)
            throw r.Invalid("path", $"\"{System.Text.Encoding.UTF8.GetString(path).Replace("\0", "\\0")}\"", "an absolute path other than / (a deleted directory has a parent), without NUL bytes");
        uint mode = r.U32("mode");
        if ((mode & 0xf000) != 0x4000) throw r.Invalid("mode", $"0{Convert.ToString(mode, 8)}", "a directory's mode (S_IFDIR, 040000)");
        return new DeletedWorkingDirectory(path, mode, r.U32("uid"), r.U32("gid"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
        [ItemField.Text("path", Path), ItemField.Hex("mode", Mode), ItemField.Num("uid", Uid), ItemField.Num("gid", Gid)];
}
