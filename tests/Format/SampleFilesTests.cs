using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>
/// The committed sample files are exactly what the generator writes (so the on-disk format does
/// not change unnoticed), and cryo-dump's output for each of them in every mode is golden.
/// </summary>
public class SampleFilesTests
{
    public static TheoryData<string> Names => new(SampleFiles.All.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Committed_sample_matches_the_generator(string name)
    {
        byte[] built = SampleFiles.Build(name);
        string path = Path.Combine(SampleFiles.SamplesDirectory, name + ".cryo");
        if (GoldenFile.Accepting) File.WriteAllBytes(path, built);
        Assert.True(File.Exists(path), $"missing sample {path}; run the tests with {GoldenFile.AcceptVariable}=1 to write it");
        Assert.True(built.AsSpan().SequenceEqual(File.ReadAllBytes(path)),
            $"{path} is not what the generator writes: the format or the generator changed. Rerun with {GoldenFile.AcceptVariable}=1 if intended.");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Dump_outputs_are_golden(string name)
    {
        string path = Path.Combine(SampleFiles.SamplesDirectory, name + ".cryo");
        string dir = Path.Combine(SampleFiles.SamplesDirectory, "dumps");
        Directory.CreateDirectory(dir);
        foreach (var (mode, args) in new[]
                 {
                     ("tree", new[] { path }),
                     ("json", new[] { "--json", path }),
                     ("normalize", new[] { "--normalize", "--path-alias", "/usr/libexec/cryo-tests=<bin>", path }),
                     ("summary", new[] { "--summary", path }),
                     ("verify", new[] { "--verify", path }),
                 })
        {
            var (code, stdout, stderr) = CryoDump.Run(args);
            Assert.True(code == 0, $"cryo-dump {string.Join(' ', args)} exited {code}: {stderr}");
            GoldenFile.Verify(dir, $"{name}.{mode}", stdout);
        }
    }
}
