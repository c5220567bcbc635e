"""Checks that the deployment and the rest of wafwatch cannot drift apart.

Run by scripts/test after `cargo test` has built target/debug/wafwatch and target/debug/transformer,
with the infra venv's python (cfn-lint provides the CloudFormation YAML loader):

    .venv-infra/bin/python -m unittest discover -s infra/tests -v
"""

import json
import os
import re
import stat
import subprocess
import tempfile
import unittest
import zipfile
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
WAFWATCH = TARGET / "debug" / "wafwatch"
TRANSFORMER = TARGET / "debug" / "transformer"
LAMBDA_ENV_LIMIT = 4 * 1024  # bytes for all of a function's variables (config/src/wire.rs)

FIREHOSE_ROLE = "arn:aws:iam::111122223333:role/wafwatch-FirehoseRole-X"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:wafwatch-alerts"


def template():
    text = (ROOT / "infra" / "template.yaml").read_text()
    decoded, matches = decode_str(text)
    assert not matches, matches
    return decoded


def run(args, env=None, stdin=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAFWATCH_")}
    clean.update(env or {})
    clean["NO_COLOR"] = "1"
    return subprocess.run(args, cwd=ROOT, env=clean, input=stdin, capture_output=True, check=False)


def plan(env):
    out = run([str(WAFWATCH), "bootstrap", "plan", "--format", "json"], env=env)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def exported_from(script, variable):
    """The stack output deploy.sh reads into an exported variable."""
    match = re.search(rf"{variable}=\$\(output (\w+)\)", script)
    return match.group(1) if match else None


class NamesDoNotDrift(unittest.TestCase):
    def setUp(self):
        self.t = template()
        self.r = self.t["Resources"]
        self.deploy = (ROOT / "infra" / "deploy.sh").read_text()

    def test_the_index_alias_is_the_one_the_bootstrap_creates(self):
        requests = plan({})
        first = next(r for r in requests if r["method"] == "PUT" and r["path"].endswith("-000001"))
        alias = next(iter(first["body"]["aliases"]))
        self.assertEqual(self.t["Parameters"]["IndexAlias"]["Default"], alias)
        dest = self.r["DeliveryStream"]["Properties"]["AmazonopensearchserviceDestinationConfiguration"]
        self.assertEqual(dest["IndexName"], {"Ref": "IndexAlias"})
        self.assertEqual(dest["IndexRotationPeriod"], "NoRotation", "Firehose writes to the alias, never a dated index")

    def test_the_stream_can_receive_waf_logs_and_is_the_one_the_lambda_reingests_into(self):
        name = self.r["DeliveryStream"]["Properties"]["DeliveryStreamName"]["Fn::Sub"]
        self.assertTrue(name.startswith("aws-waf-logs-"), name)
        statements = self.r["TransformerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        reingest = next(s for s in statements if s["Action"] == "firehose:PutRecordBatch")
        self.assertTrue(reingest["Resource"]["Fn::Sub"].endswith("deliverystream/" + name), reingest)

    def test_the_firehose_role_is_the_one_the_bootstrap_maps(self):
        variable = "WAFWATCH_FIREHOSE_ROLE_ARN"
        config = (ROOT / "wafwatch.toml").read_text()
        self.assertIn("${" + variable, config, "wafwatch.toml's [access] reads the variable deploy.sh sets")
        output = exported_from(self.deploy, variable)
        self.assertEqual(self.t["Outputs"][output]["Value"], {"Fn::GetAtt": ["FirehoseRole", "Arn"]})
        dest = self.r["DeliveryStream"]["Properties"]["AmazonopensearchserviceDestinationConfiguration"]
        self.assertEqual(dest["RoleARN"], {"Fn::GetAtt": ["FirehoseRole", "Arn"]})
        mapping = next(r for r in plan({variable: FIREHOSE_ROLE}) if "/rolesmapping/" in r["path"])
        self.assertEqual(mapping["body"]["backend_roles"], [FIREHOSE_ROLE])

    def test_the_alert_topic_is_the_one_the_channel_and_the_alarms_use(self):
        config = (ROOT / "wafwatch.toml").read_text()
        for variable, output, value in [
            ("WAFWATCH_ALERT_TOPIC_ARN", "AlertTopicArn", {"Ref": "AlertTopic"}),
            ("WAFWATCH_ALERT_ROLE_ARN", "AlertPublishRoleArn", {"Fn::GetAtt": ["AlertPublishRole", "Arn"]}),
        ]:
            self.assertIn("${" + variable, config)
            self.assertEqual(exported_from(self.deploy, variable), output)
            self.assertEqual(self.t["Outputs"][output]["Value"], value)
        channel = next(r for r in plan({"WAFWATCH_ALERT_TOPIC_ARN": TOPIC}) if r["path"] == "/_plugins/_notifications/configs")
        self.assertEqual(channel["body"]["config"]["sns"]["topic_arn"], TOPIC)
        alarms = [k for k, v in self.r.items() if v["Type"] == "AWS::CloudWatch::Alarm"]
        self.assertGreaterEqual(len(alarms), 4)
        for a in alarms:
            self.assertEqual(self.r[a]["Properties"]["AlarmActions"], [{"Ref": "AlertTopic"}], a)

    def test_the_lambda_reads_its_configuration_where_the_transformer_looks(self):
        limits = (ROOT / "config" / "src" / "wire.rs").read_text()
        name = re.search(r'TRANSFORM_CONFIG_ENV: &str = "(\w+)"', limits).group(1)
        f = self.r["TransformerFunction"]["Properties"]
        self.assertEqual(f["Environment"]["Variables"], {name: {"Ref": "TransformConfig"}})
        self.assertEqual((f["Runtime"], f["Architectures"], f["Handler"]), ("provided.al2023", ["arm64"], "bootstrap"))
        self.assertEqual(f["LoggingConfig"]["LogFormat"], "JSON")
        self.assertEqual(f["CodeUri"], "build/transformer.zip", "where package.sh puts the zip")

    def test_the_processor_buffer_stays_within_the_limits(self):
        dest = self.r["DeliveryStream"]["Properties"]["AmazonopensearchserviceDestinationConfiguration"]
        params = {p["ParameterName"]: p["ParameterValue"] for p in dest["ProcessingConfiguration"]["Processors"][0]["Parameters"]}
        self.assertTrue(0.2 <= float(params["BufferSizeInMBs"]) <= 3, params)
        self.assertTrue(0 <= int(params["BufferIntervalInSeconds"]) <= 900, params)
        self.assertEqual(params["LambdaArn"], {"Fn::GetAtt": ["TransformerFunction", "Arn"]})

    def test_the_simulator_unit_uses_flags_the_simulator_has(self):
        user_data = self.r["SimulatorInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        command = next(l for l in user_data.splitlines() if "ExecStart=/usr/local/bin/log-simulator" in l)
        help_text = run([str(WAFWATCH), "simulate", "--help"]).stdout.decode()
        for flag in re.findall(r"(--[a-z-]+)", command.split("log-simulator", 1)[1]):
            self.assertIn(flag, help_text, flag)

    def test_no_policy_grants_every_action_or_every_resource_where_a_name_is_known(self):
        for name, res in self.r.items():
            for policy in res.get("Properties", {}).get("Policies", []):
                for s in policy["PolicyDocument"]["Statement"]:
                    actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                    self.assertFalse(any(a == "*" or a.endswith(":*") for a in actions), (name, s))
                    self.assertNotEqual(s.get("Resource"), "*", (name, s))


class LambdaConfiguration(unittest.TestCase):
    def test_every_configuration_fits_lambdas_limit_and_parses_with_the_transformers_own_loader(self):
        limit = template()["Parameters"]["TransformConfig"]["MaxLength"]
        line = b'{"timestamp":1767225600000,"action":"BLOCK","httpSourceName":"CF","country":"FR","httpMethod":"GET","uri":"/","httpRequest":{"country":"FR","httpMethod":"GET"}}\n'
        text_line = b"2026-01-01T00:00:00Z ERROR payment service: connection refused\n"
        for config, sample in [("wafwatch.toml", line), ("presets/aws-waf.toml", line), ("presets/text-logs.toml", text_line)]:
            out = run([str(WAFWATCH), "--config", config, "config", "lambda-env"])
            self.assertEqual(out.returncode, 0, out.stderr.decode())
            value = out.stdout.decode().strip()
            self.assertLessEqual(len("WAFWATCH_TRANSFORM_CONFIG") + len(value), LAMBDA_ENV_LIMIT, config)
            self.assertLessEqual(len(value), limit, config)
            encoded = run([str(TRANSFORMER), "encode"], env={"WAFWATCH_TRANSFORM_CONFIG": value}, stdin=sample)
            self.assertEqual(encoded.returncode, 0, encoded.stderr.decode())
            self.assertIn(b'"@timestamp":"2026-01-01T00:00:00.000Z"', encoded.stdout, config)
        # And a broken value is refused by the loader, naming the variable.
        broken = run([str(TRANSFORMER), "encode"], env={"WAFWATCH_TRANSFORM_CONFIG": '{"source":{"format":"xml"}}'}, stdin=line)
        self.assertEqual(broken.returncode, 2)
        self.assertIn(b"WAFWATCH_TRANSFORM_CONFIG", broken.stderr)


class Packaging(unittest.TestCase):
    def test_the_zip_holds_one_executable_bootstrap_at_its_root(self):
        with tempfile.TemporaryDirectory() as tmp:
            zip_path = Path(tmp) / "transformer.zip"
            env = dict(os.environ)
            env["PATH"] = f"{Path(os.sys.executable).parent}:{env['PATH']}"
            built = subprocess.run(
                ["infra/package.sh", "--arch", "x86_64", "--debug", "--out", str(zip_path)],
                cwd=ROOT, env=env, capture_output=True, check=False,
            )
            self.assertEqual(built.returncode, 0, built.stderr.decode()[-3000:])
            with zipfile.ZipFile(zip_path) as z:
                self.assertEqual(z.namelist(), ["bootstrap"])
                info = z.getinfo("bootstrap")
                mode = info.external_attr >> 16
                self.assertTrue(mode & stat.S_IXUSR, oct(mode))
                z.extract("bootstrap", tmp)
            binary = Path(tmp) / "bootstrap"
            header = binary.read_bytes()[:20]
            self.assertEqual(header[:4], b"\x7fELF")
            self.assertEqual(int.from_bytes(header[18:20], "little"), 0x3E, "x86-64")
            # It is the transformer: outside Lambda, with no command, it explains itself and exits 2.
            os.chmod(binary, 0o755)
            out = subprocess.run([str(binary)], capture_output=True, check=False, env={"PATH": "/usr/bin:/bin"})
            self.assertEqual(out.returncode, 2, out.stderr.decode())
            self.assertIn(b"Lambda", out.stderr + out.stdout)

    def test_the_scripts_parse_and_explain_themselves(self):
        for script in ["package.sh", "deploy.sh", "destroy.sh"]:
            path = ROOT / "infra" / script
            self.assertEqual(subprocess.run(["bash", "-n", str(path)], check=False).returncode, 0, script)
            helped = subprocess.run([str(path), "--help"], capture_output=True, check=False)
            self.assertEqual(helped.returncode, 0, script)
            self.assertIn(b"infra/" + script.encode(), helped.stdout, script)
        refused = subprocess.run([str(ROOT / "infra" / "destroy.sh"), "--region", "eu-west-1"], capture_output=True, check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn(b"--yes", refused.stderr)


if __name__ == "__main__":
    unittest.main()
