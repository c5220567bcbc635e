#!/usr/bin/env bash
# Tears down what deploy.sh created.
#
#   infra/destroy.sh --yes [--stack NAME] [--region REGION] [--keep-artifacts]
#
# With an existing domain (ExistingDomainArn), first removes what `wafwatch bootstrap apply` put on
# it (detectors, monitors, channels, dashboards, template, policy, role mapping; never your
# indices). Then empties the stack's bucket (every version: CloudFormation cannot delete a bucket
# that holds objects), deletes the stack and waits for it, and deletes the artifact bucket unless
# --keep-artifacts. A domain the stack created is deleted with the stack, documents included.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=wafwatch
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
yes=false
keep_artifacts=false
while [ $# -gt 0 ]; do
  case $1 in
    --stack) stack=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --yes) yes=true; shift ;;
    --keep-artifacts) keep_artifacts=true; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "destroy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$region" ] || { echo "destroy.sh: no region: pass --region or set AWS_REGION" >&2; exit 2; }
[ "$yes" = true ] || { echo "destroy.sh: this deletes the stack $stack and its data in $region; run it again with --yes" >&2; exit 2; }
export AWS_REGION=$region

output() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
parameter() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text; }

# Deletes every version and delete marker in a bucket, a thousand at a time.
empty_bucket() {
  local b=$1 batch
  while :; do
    batch=$(aws s3api list-object-versions --bucket "$b" --max-items 1000 --output json \
      --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, DeleteMarkers[].{Key: Key, VersionId: VersionId}][] }')
    case $batch in *'"Key"'*) ;; *) break ;; esac
    aws s3api delete-objects --bucket "$b" --delete "$batch" >/dev/null
  done
}

if [ "$(parameter ExistingDomainArn)" != "" ] && [ "$(parameter ExistingDomainArn)" != "None" ]; then
  echo "==> removing wafwatch's objects from the existing domain"
  cargo run --release --locked -- bootstrap destroy --yes --opensearch-url "$(output DomainEndpoint)" \
    --opensearch-sigv4 es --region "$region"
fi

bucket=$(output BucketName)
if [ -n "$bucket" ] && [ "$bucket" != "None" ]; then
  echo "==> emptying s3://$bucket"
  empty_bucket "$bucket"
fi

echo "==> deleting the stack $stack"
aws cloudformation delete-stack --stack-name "$stack"
aws cloudformation wait stack-delete-complete --stack-name "$stack"

if [ "$keep_artifacts" = false ]; then
  account=$(aws sts get-caller-identity --query Account --output text)
  artifacts="$stack-artifacts-$account-$region"
  if aws s3api head-bucket --bucket "$artifacts" 2>/dev/null; then
    echo "==> deleting the artifact bucket $artifacts"
    aws s3 rm "s3://$artifacts" --recursive >/dev/null
    aws s3api delete-bucket --bucket "$artifacts"
  fi
fi
echo "==> done"
