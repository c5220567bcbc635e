#!/usr/bin/env bash
# Deploys the whole pipeline to AWS from infra/template.yaml, then bootstraps OpenSearch.
#
#   infra/deploy.sh [--stack NAME] [--region REGION] [--alert-email ADDRESS] [--web-acl-arn ARN]
#                   [--existing-domain-arn ARN --existing-domain-endpoint URL]
#                   [--simulator --vpc-id VPC --subnet-id SUBNET] [--parameter KEY=VALUE ...]
#
# Steps: build the arm64 Lambda zip (infra/package.sh), produce WAFWATCH_TRANSFORM_CONFIG from
# wafwatch.toml, package the template into an artifact bucket, deploy the stack, upload the arm64
# simulator when the EC2 simulator is on, send a two-minute warm-up burst of simulated traffic
# through Firehose, then run `wafwatch bootstrap apply --wait-for-data` against the domain (which
# also maps the Firehose role). Re-running it updates everything in place.
#
# Needs: the AWS CLI with credentials for an IAM role (the domain's master user), cargo, and
# cargo-lambda with zig (`pip install cargo-lambda ziglang`). See infra/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=wafwatch
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
overrides=()
simulator=false
while [ $# -gt 0 ]; do
  case $1 in
    --stack) stack=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --alert-email) overrides+=("AlertEmail=$2"); shift 2 ;;
    --web-acl-arn) overrides+=("WebAclArn=$2"); shift 2 ;;
    --existing-domain-arn) overrides+=("ExistingDomainArn=$2"); shift 2 ;;
    --existing-domain-endpoint) overrides+=("ExistingDomainEndpoint=$2"); shift 2 ;;
    --simulator) simulator=true; overrides+=("EnableSimulator=true"); shift ;;
    --vpc-id) overrides+=("SimulatorVpcId=$2"); shift 2 ;;
    --subnet-id) overrides+=("SimulatorSubnetId=$2"); shift 2 ;;
    --parameter) overrides+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$region" ] || { echo "deploy.sh: no region: pass --region or set AWS_REGION" >&2; exit 2; }
export AWS_REGION=$region
for tool in aws cargo cargo-lambda; do
  command -v "$tool" >/dev/null 2>&1 || { echo "deploy.sh: $tool is not on PATH (see infra/README.md)" >&2; exit 1; }
done

step() { printf '\n==> %s\n' "$*"; }

step "who deploys"
caller=$(aws sts get-caller-identity --query Arn --output text)
account=$(aws sts get-caller-identity --query Account --output text)
case $caller in
  # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCOUNT:role/NAME (roles with a path: pass
  # --parameter BootstrapRoleArn=... yourself)
  arn:*:sts::*:assumed-role/*) partition=${caller#arn:}; partition=${partition%%:*}
    name=${caller#*:assumed-role/}; name=${name%%/*}
    bootstrap_role="arn:$partition:iam::$account:role/$name" ;;
  arn:*:iam::*:role/*) bootstrap_role=$caller ;;
  *) echo "deploy.sh: deploy as an IAM role (it becomes the domain's master user), not $caller" >&2; exit 1 ;;
esac
echo "$bootstrap_role"

step "build the arm64 Lambda"
infra/package.sh --arch arm64
cargo build --release --locked --bin wafwatch
wafwatch=target/release/wafwatch
transform_config=$("$wafwatch" config lambda-env)

step "artifact bucket"
artifacts="$stack-artifacts-$account-$region"
if ! aws s3api head-bucket --bucket "$artifacts" 2>/dev/null; then
  if [ "$region" = us-east-1 ]; then
    aws s3api create-bucket --bucket "$artifacts" >/dev/null
  else
    aws s3api create-bucket --bucket "$artifacts" --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
  aws s3api put-public-access-block --bucket "$artifacts" \
    --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  aws s3api put-bucket-encryption --bucket "$artifacts" \
    --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
fi
echo "$artifacts"

step "package and deploy the stack $stack"
aws cloudformation package --template-file infra/template.yaml --s3-bucket "$artifacts" --s3-prefix "$stack" \
  --output-template-file infra/build/packaged.yaml >/dev/null
aws cloudformation deploy --stack-name "$stack" --template-file infra/build/packaged.yaml \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
  --parameter-overrides "BootstrapRoleArn=$bootstrap_role" "TransformConfig=$transform_config" "${overrides[@]}"

output() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
stream=$(output DeliveryStreamName)
bucket=$(output BucketName)
export WAFWATCH_OPENSEARCH_URL; WAFWATCH_OPENSEARCH_URL=$(output DomainEndpoint)
export WAFWATCH_DASHBOARDS_URL; WAFWATCH_DASHBOARDS_URL=$(output DashboardsUrl)
export WAFWATCH_ALERT_TOPIC_ARN; WAFWATCH_ALERT_TOPIC_ARN=$(output AlertTopicArn)
export WAFWATCH_ALERT_ROLE_ARN; WAFWATCH_ALERT_ROLE_ARN=$(output AlertPublishRoleArn)
export WAFWATCH_FIREHOSE_ROLE_ARN; WAFWATCH_FIREHOSE_ROLE_ARN=$(output FirehoseRoleArn)

if [ "$simulator" = true ]; then
  step "the simulator binary for the EC2 instance"
  cargo lambda build --profile lambda-package --arm64 --locked --package wafwatch-log-simulator --bin log-simulator --lambda-dir target/lambda
  aws s3 cp target/lambda/log-simulator/bootstrap "s3://$bucket/artifacts/log-simulator"
fi

step "warm-up: two minutes of simulated traffic into $stream"
cargo run --release --locked -p wafwatch-log-simulator -- --rate 50 --duration 2m --sink "firehose:$stream" --no-progress

step "bootstrap OpenSearch at $WAFWATCH_OPENSEARCH_URL"
"$wafwatch" bootstrap apply --opensearch-sigv4 es --region "$region" --wait-for-data=15m

cat <<DONE

Deployed. For later commands in this shell:
  export WAFWATCH_OPENSEARCH_URL=$WAFWATCH_OPENSEARCH_URL
  export WAFWATCH_DASHBOARDS_URL=$WAFWATCH_DASHBOARDS_URL
  export WAFWATCH_ALERT_TOPIC_ARN=$WAFWATCH_ALERT_TOPIC_ARN
  export WAFWATCH_ALERT_ROLE_ARN=$WAFWATCH_ALERT_ROLE_ARN
  export WAFWATCH_FIREHOSE_ROLE_ARN=$WAFWATCH_FIREHOSE_ROLE_ARN
  $wafwatch bootstrap status --opensearch-sigv4 es
Dashboards: $WAFWATCH_DASHBOARDS_URL (sign in with the deploying role, or map users in Security)
Stream: $stream    Raw logs: s3://$bucket/raw/
DONE
