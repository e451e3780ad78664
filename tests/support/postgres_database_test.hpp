// A test with a fresh, empty database of its own in the process's shared PostgreSQL cluster
// (postgres_cluster.hpp): cluster_ and database_ are set before the derived SetUp continues.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "postgres_cluster.hpp"

namespace ef::testing {

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PostgresCluster::shared();
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = *cluster;
    auto name = cluster_->create_database();
    ASSERT_TRUE(name) << name.error().message;
    database_ = *name;
  }

  PostgresCluster* cluster_ = nullptr;
  std::string database_;
};

}  // namespace ef::testing
