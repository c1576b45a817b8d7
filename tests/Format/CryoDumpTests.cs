using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

public sealed class CryoDumpTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cryo-dump-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Verify_names_the_first_bad_item_and_its_offset()
    {
        byte[] file = SampleFiles.Build("process");
        int itemStart;
        using (var reader = new CheckpointReader(new MemoryStream(file)))
        {
            reader.GetNextItem(); reader.GetNextItem(); reader.GetNextItem(); // PROC, PINF, CRED
            itemStart = (int)reader.ItemOffset;
        }
        file[itemStart + 20] ^= 0x10;
        var (code, _, stderr) = CryoDump.Run(["--verify", Write("bad.cryo", file)]);
        Assert.Equal(1, code);
        Assert.Contains($"at byte {itemStart} (item #2 'CRED'): checksum mismatch", stderr);
    }

    [Fact]
    public void Every_mode_rejects_a_truncated_copy()
    {
        byte[] file = SampleFiles.Build("tree");
        string path = Write("short.cryo", file[..(file.Length / 2)]);
        foreach (string mode in new[] { "--verify", "--json", "--normalize", "--summary" })
        {
            var (code, _, stderr) = CryoDump.Run([mode, path]);
            Assert.True(code == 1, $"{mode} exited {code}");
            Assert.Contains("the file ends inside the payload", stderr);
        }
        var (treeCode, treeOut, treeErr) = CryoDump.Run([path]);
        Assert.Equal(1, treeCode);
        Assert.Contains("PROC", treeOut); // what was valid is shown before the error
        Assert.Contains("invalid checkpoint file at byte", treeErr);
    }

    [Fact]
    public void Reads_standard_input()
    {
        var (code, stdout, _) = CryoDump.Run(["--verify", "-"], SampleFiles.Build("process"));
        Assert.Equal(0, code);
        Assert.StartsWith("ok: ", stdout);
    }

    [Fact]
    public void Filters_items_by_tag()
    {
        var (code, stdout, _) = CryoDump.Run(["--items", "FINF,FBUF", Path.Combine(SampleFiles.SamplesDirectory, "process.cryo")]);
        Assert.Equal(0, code);
        var tags = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.TrimStart()[..4]).Distinct();
        Assert.Equal(["FINF", "FBUF"], tags);
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, CryoDump.Run([]).Code);
        Assert.Equal(2, CryoDump.Run(["--json", "--summary", "x.cryo"]).Code);
        Assert.Equal(2, CryoDump.Run(["--bogus", "x.cryo"]).Code);
        Assert.Equal(2, CryoDump.Run(["--normalize", "--path-alias", "nonsense", "x.cryo"]).Code);
        var (code, stdout, _) = CryoDump.Run(["--help"]);
        Assert.Equal(0, code);
        Assert.Contains("--normalize", stdout);
    }

    [Fact]
    public void A_missing_file_exits_1() =>
        Assert.Equal(1, CryoDump.Run([Path.Combine(_dir, "absent.cryo")]).Code);
}
